// Compiled cubins in the tuning database, keyed by what determines them: the source's hash, the
// arch and the NVRTC version. A warm load finds its cubin here and compiles nothing.
#pragma once

#include <optional>
#include <string>

#include "cache/database.h"
#include "generator/kernel_source.h"
#include "runtime/nvrtc.h"

namespace fusetune {

std::string binary_key(const KernelSource& source, const std::string& arch);

std::optional<CompiledBinary> find_binary(cache::Database& db, const std::string& key);
void store_binary(cache::Database& db, const std::string& key, const CompiledBinary& binary);

}  // namespace fusetune
