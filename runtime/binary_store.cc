#include "runtime/binary_store.h"

#include <fmt/format.h>

#include "cache/sha256.h"

namespace fusetune {

std::string binary_key(const KernelSource& source, const std::string& arch) {
  return fmt::format("{}:{}:nvrtc-{}", cache::sha256_hex(source.code), target_arch(source, arch),
                     nvrtc_version());
}

namespace {

std::optional<CompiledBinary> compiled(std::optional<cache::BinaryRecord> record) {
  if (!record) return std::nullopt;
  CompiledBinary binary;
  binary.arch = record->arch;
  binary.cubin = std::move(record->cubin);
  binary.registers = record->registers;
  binary.spill_bytes = record->spill_bytes;
  binary.static_smem_bytes = record->smem_bytes;
  binary.log = std::move(record->log);
  return binary;
}

}  // namespace

std::optional<CompiledBinary> find_binary(cache::Database& db, const std::string& key) {
  return compiled(db.find_binary(key));
}

std::optional<CompiledBinary> find_binary(cache::Layers& layers, const std::string& key) {
  return compiled(layers.find_binary(key));
}

void store_binary(cache::Database& db, const std::string& key, const CompiledBinary& binary) {
  cache::BinaryRecord record;
  record.key = key;
  record.arch = binary.arch;
  record.nvrtc_version = nvrtc_version();
  record.cubin = binary.cubin;
  record.registers = binary.registers;
  record.smem_bytes = binary.static_smem_bytes;
  record.spill_bytes = binary.spill_bytes;
  record.log = binary.log;
  db.store_binary(record);
}

}  // namespace fusetune
