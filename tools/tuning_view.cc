#include "tools/tuning_view.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cache/prune.h"
#include "generator/spec_parser.h"
#include "generator/version.h"
#include "runtime/device.h"
#include "runtime/nvrtc.h"
#include "runtime/tuning_key.h"
#include "tools/report_format.h"
#include "tools/table.h"
#include "tools/terminal_text.h"
#include "tuner/candidate_result.h"

namespace fusetune::cli {

double flops_of(const std::string& spec) {
  try {
    return parse_spec(spec).flops();
  } catch (const Error&) {
    return 0;
  }
}

std::string hard_key_problem(const cache::TuningRecord& t) {
  return cache::stale_reason(
      t, {.generator_version = generator_version(), .nvrtc_version = nvrtc_version()});
}

std::optional<std::vector<std::string>> soft_key_changes_here(const cache::TuningRecord& t) {
  // Probed once: a CUDA context costs a few hundred milliseconds, and listings show many tunings.
  static const std::vector<DeviceInfo> gpus = [] {
    std::vector<DeviceInfo> found;
    for (int ordinal = 0;; ++ordinal) {
      DeviceProbe probe = probe_device(ordinal);
      if (!probe.device) return found;
      found.push_back(std::move(*probe.device));
    }
  }();
  for (const DeviceInfo& gpu : gpus)
    if (gpu.name == t.key.device_name && gpu.arch() == t.key.arch && gpu.sm_count == t.key.sm_count)
      return cache::soft_key_changes(t.soft_keys, gpu.soft_keys);
  return std::nullopt;
}

nlohmann::json key_json(const cache::TuningKey& key) {
  return {{"signature", key.signature},
          {"precision", key.precision},
          {"device", key.device_name},
          {"arch", key.arch},
          {"sm_count", key.sm_count},
          {"nvrtc_version", key.nvrtc_version},
          {"generator_version", key.generator_version}};
}

nlohmann::json tuning_json(const cache::TuningRecord& t) {
  const std::string stale = hard_key_problem(t);
  nlohmann::json j = {{"spec", t.spec},
                      {"stale", stale.empty() ? nlohmann::json() : nlohmann::json(stale)}};
  j.update(key_json(t.key));
  const std::optional<std::vector<std::string>> changes = soft_key_changes_here(t);
  j.update({{"driver_version", t.soft_keys.driver_version},
            {"soft_keys", cache::describe(t.soft_keys)},
            // null where no GPU of the key is in this machine to compare with
            {"soft_key_changes", changes ? nlohmann::json(*changes) : nlohmann::json()},
            {"winner", t.winner},
            {"time_ms", optional_json(t.winner_time_ms)},
            {"rel_err", optional_json(t.winner_rel_err)},
            {"candidates", t.candidate_count},
            {"tuning_s", t.tuning_seconds},
            {"created_at", t.created_at},
            {"updated_at", t.updated_at}});
  return j;
}

std::string config_refusal(const cache::TuningRecord& t, const std::string& config_json) {
  try {
    const std::optional<DeviceLimits> limits = key_limits(t.key);
    if (!limits) return fmt::format("its arch '{}' is none fusetune targets", t.key.arch);
    validated_config(parse_spec(t.spec), *limits, config_json);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

nlohmann::json candidates_json(const cache::TuningRecord& tuning,
                               const std::vector<cache::CandidateRecord>& candidates,
                               double flops) {
  nlohmann::json results = nlohmann::json::array();
  for (const cache::CandidateRecord& c : candidates) {
    nlohmann::json result;
    if (const std::string refused = config_refusal(tuning, c.config_json); refused.empty()) {
      result = to_json(from_record(c, parse_spec(tuning.spec), *key_limits(tuning.key)), flops);
    } else {  // listed as stored, never read as a configuration
      result = {{"name", c.name},
                {"config", nullptr},
                {"config_refused", refused},
                {"outcome", c.outcome},
                {"time_ms", optional_json(c.time_ms)},
                {"rel_err", optional_json(c.rel_err)}};
    }
    result["measured_at"] = c.measured_at;
    results.push_back(std::move(result));
  }
  return results;
}

std::string tuning_heading(const cache::TuningRecord& t) {
  const std::string stale = hard_key_problem(t);
  const std::string keys =
      stale.empty()
          ? "hard keys (GPU, arch, SMs, NVRTC, generator) match this build: loads use it on that "
            "GPU"
          : fmt::format(
                "stale: a hard key differs ({}); loads ignore it, 'fusetune cache "
                "prune' removes it",
                stale);
  const std::optional<std::vector<std::string>> changes = soft_key_changes_here(t);
  const std::string soft = !changes ? "no such GPU here to compare them with"
                           : changes->empty()
                               ? "they match this machine's GPU"
                               : fmt::format(
                                     "they differ on this machine's GPU ({}): loads use the "
                                     "winner and warn; 'fusetune tune' re-verifies the winner "
                                     "and runner-up",
                                     fmt::join(*changes, ", "));
  const auto& [signature, precision, device, arch, sm_count, nvrtc, generator] = t.key;
  return fmt::format(
      "{}\n{} ({}, {} SMs), precision {}, NVRTC {}, generator {}\n{}\nsoft keys (recorded, not "
      "keyed): {}; {}\ntuned {} in {:.1f} s; winner {}\n\n",
      printable(t.spec), printable(device), printable(arch), sm_count, printable(precision),
      printable(nvrtc), printable(generator), printable(keys), cache::describe(t.soft_keys),
      printable(soft), printable(t.updated_at), t.tuning_seconds,
      t.winner.empty() ? "(none)" : printable(t.winner));
}

std::string candidate_table(const std::vector<cache::CandidateRecord>& candidates, double flops) {
  Table table({{"#", true},
               {"config"},
               {"outcome"},
               {"ms", true},
               {"TFLOP/s", true},
               {"rel err", true},
               {"regs", true},
               {"smem KiB", true},
               {"spills", true},
               {"message"}});
  int rank = 0;
  for (const cache::CandidateRecord& c : candidates) {
    std::string message = c.message.substr(0, c.message.find('\n'));
    if (message.size() > 60) message = message.substr(0, 57) + "...";
    table.add_row({std::to_string(++rank), c.name, c.outcome, format_ms(c.time_ms),
                   format_tflops(flops, c.time_ms), format_error(c.rel_err),
                   std::to_string(c.registers), format_kib(c.smem_bytes),
                   std::to_string(c.spill_bytes), message});
  }
  return table.render();
}

}  // namespace fusetune::cli
