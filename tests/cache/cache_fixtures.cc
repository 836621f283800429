#include "tests/cache/cache_fixtures.h"

#include <fmt/format.h>

#include <algorithm>

namespace fusetune::cache::fixtures {
namespace {

std::string number(const std::optional<double>& value) {
  return value ? fmt::format("{:.17g}", *value) : "null";
}

std::string describe(const TuningRecord& t) {
  const TuningKey& k = t.key;
  return fmt::format(
      "tuning {}|{}|{}|{}|{}|{}|{} spec={} soft_keys={} seconds={:.17g} winner={} time={} err={} "
      "config={} candidates={} created={} updated={}\n",
      k.signature, k.precision, k.device_name, k.arch, k.sm_count, k.nvrtc_version,
      k.generator_version, t.spec, describe(t.soft_keys), t.tuning_seconds, t.winner,
      number(t.winner_time_ms), number(t.winner_rel_err), t.winner_config_json, t.candidate_count,
      t.created_at, t.updated_at);
}

std::string describe(const CandidateRecord& c) {
  return fmt::format(
      "  candidate {} config={} outcome={} time={} err={} regs={} smem={} spills={} message={:?} "
      "binary={} measured={}\n",
      c.name, c.config_json, c.outcome, number(c.time_ms), number(c.rel_err), c.registers,
      c.smem_bytes, c.spill_bytes, c.message, c.binary_key, c.measured_at);
}

std::string describe(const BinaryRecord& b) {
  std::string bytes;
  for (char byte : b.cubin) bytes += fmt::format("{:02x}", static_cast<unsigned char>(byte));
  return fmt::format("binary {} arch={} nvrtc={} regs={} smem={} spills={} log={:?} cubin={}\n",
                     b.key, b.arch, b.nvrtc_version, b.registers, b.smem_bytes, b.spill_bytes,
                     b.log, bytes);
}

}  // namespace

std::string contents(Database& db) {
  std::vector<std::string> tunings;
  for (const TuningRecord& t : db.tunings()) {
    std::string text = describe(t);
    std::vector<CandidateRecord> candidates = db.candidates(t.id);
    std::sort(candidates.begin(), candidates.end(),
              [](const auto& x, const auto& y) { return x.name < y.name; });
    for (const CandidateRecord& c : candidates) text += describe(c);
    tunings.push_back(std::move(text));
  }
  std::sort(tunings.begin(), tunings.end());
  std::string text;
  for (const std::string& t : tunings) text += t;
  for (const StoredBinary& stored : db.binaries()) {
    const std::optional<BinaryRecord> binary = db.find_binary(stored.key);
    text += binary ? describe(*binary) : "binary " + stored.key + " damaged\n";
  }
  return text;
}

}  // namespace fusetune::cache::fixtures
