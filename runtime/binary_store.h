// Compiled cubins in the tuning database, keyed by what determines them: the source's hash, the
// arch and the NVRTC version. A warm load finds its cubin here (or in the system layer beneath
// the user's database) and compiles nothing.
#pragma once

#include <optional>
#include <string>

#include "cache/database.h"
#include "cache/layers.h"
#include "generator/kernel_source.h"
#include "runtime/nvrtc.h"

namespace fusetune {

std::string binary_key(const KernelSource& source, const std::string& arch);

std::optional<CompiledBinary> find_binary(cache::Database& db, const std::string& key);
// The user's cubin under `key`, else the system layer's.
std::optional<CompiledBinary> find_binary(cache::Layers& layers, const std::string& key);
void store_binary(cache::Database& db, const std::string& key, const CompiledBinary& binary);

}  // namespace fusetune
