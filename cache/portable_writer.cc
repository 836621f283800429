// Writing the portable export (portable_format.h).
#include <fmt/format.h>
#include <time.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "cache/base64.h"
#include "cache/portable_format.h"
#include "cache/sha256.h"
#include "fusetune/status.h"

namespace fusetune::cache {
namespace {

using Json = nlohmann::ordered_json;  // fields in the order written, for readers of the file

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

Json optional_number(const std::optional<double>& value) { return value ? Json(*value) : Json(); }

Json candidate_json(const CandidateRecord& c) {
  return {{"name", c.name},
          {"config_json", c.config_json},
          {"outcome", c.outcome},
          {"time_ms", optional_number(c.time_ms)},
          {"rel_err", optional_number(c.rel_err)},
          {"time_spread", optional_number(c.time_noise)},
          {"registers", c.registers},
          {"smem_bytes", c.smem_bytes},
          {"spill_bytes", c.spill_bytes},
          {"message", c.message},
          {"binary_key", c.binary_key},
          {"measured_at", c.measured_at}};
}

Json tuning_json(const PortableTuning& p) {
  const TuningRecord& t = p.tuning;
  Json candidates = Json::array();
  for (const CandidateRecord& c : p.candidates) candidates.push_back(candidate_json(c));
  const std::string state = device_state_json(t.soft_keys);
  return {{"signature", t.key.signature},
          {"precision", t.key.precision},
          {"device_name", t.key.device_name},
          {"arch", t.key.arch},
          {"sm_count", t.key.sm_count},
          {"nvrtc_version", t.key.nvrtc_version},
          {"generator_version", t.key.generator_version},
          {"spec", t.spec},
          {"driver_version", t.soft_keys.driver_version},
          {"device_state", state.empty() ? Json::object() : Json::parse(state)},
          {"tuning_seconds", t.tuning_seconds},
          {"created_at", t.created_at},
          {"updated_at", t.updated_at},
          {"winner", t.winner},
          {"winner_time_ms", optional_number(t.winner_time_ms)},
          {"winner_rel_err", optional_number(t.winner_rel_err)},
          {"winner_config_json", t.winner_config_json},
          {"candidates", std::move(candidates)}};
}

Json binary_json(const BinaryRecord& b) {
  return {{"key", b.key},
          {"arch", b.arch},
          {"nvrtc_version", b.nvrtc_version},
          {"registers", b.registers},
          {"smem_bytes", b.smem_bytes},
          {"spill_bytes", b.spill_bytes},
          {"log", b.log},
          {"sha256", sha256_hex(b.cubin)},
          {"cubin_base64", base64_encode(b.cubin)}};
}

}  // namespace

PortableExport collect_export(Database& db, const std::string& signature, bool with_binaries) {
  PortableExport data;
  data.exported_at = utc_now();
  std::set<std::string> binary_keys;
  for (TuningRecord& tuning : signature.empty() ? db.tunings() : db.find_tunings(signature)) {
    std::vector<CandidateRecord> candidates = db.candidates(tuning.id);
    for (const CandidateRecord& c : candidates)
      if (!c.binary_key.empty()) binary_keys.insert(c.binary_key);
    data.tunings.push_back({std::move(tuning), std::move(candidates)});
  }
  if (!with_binaries) return data;
  // A binary that is missing or damaged stays behind: the importer compiles it again on use.
  for (const std::string& key : binary_keys)
    if (std::optional<BinaryRecord> binary = db.find_binary(key))
      data.binaries.push_back(std::move(*binary));
  return data;
}

std::string to_portable_json(const PortableExport& data) {
  Json tunings = Json::array();
  for (const PortableTuning& tuning : data.tunings) tunings.push_back(tuning_json(tuning));
  Json binaries = Json::array();
  for (const BinaryRecord& binary : data.binaries) binaries.push_back(binary_json(binary));
  const Json document = {{"format", kPortableFormat},
                         {"version", kPortableVersion},
                         {"exported_at", data.exported_at},
                         {"tunings", std::move(tunings)},
                         {"binaries", std::move(binaries)}};
  try {
    return document.dump(2) + "\n";
  } catch (const Json::exception& e) {
    // Only text that is not UTF-8 (a compiler log, say) gets here; replacing it would be lossy.
    throw Error(StatusCode::internal,
                fmt::format("cannot write the export: {}; a stored text is not UTF-8", e.what()));
  }
}

}  // namespace fusetune::cache
