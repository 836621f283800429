#include "tools/tuning_view.h"

#include <fmt/format.h>

#include "cache/prune.h"
#include "generator/spec_parser.h"
#include "generator/version.h"
#include "runtime/nvrtc.h"
#include "tools/report_format.h"
#include "tools/table.h"
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
  j.update({{"driver_version", t.driver_version},
            {"winner", t.winner},
            {"time_ms", optional_json(t.winner_time_ms)},
            {"rel_err", optional_json(t.winner_rel_err)},
            {"candidates", t.candidate_count},
            {"tuning_s", t.tuning_seconds},
            {"created_at", t.created_at},
            {"updated_at", t.updated_at}});
  return j;
}

nlohmann::json candidates_json(const std::vector<cache::CandidateRecord>& candidates,
                               double flops) {
  nlohmann::json results = nlohmann::json::array();
  for (const cache::CandidateRecord& c : candidates) {
    nlohmann::json result = to_json(from_record(c), flops);
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
  return fmt::format(
      "{}\n{} ({}, {} SMs), precision {}, driver {}, NVRTC {}, generator {}\n{}; the driver is "
      "recorded, not part of the key\ntuned {} in {:.1f} s; winner {}\n\n",
      t.spec, t.key.device_name, t.key.arch, t.key.sm_count, t.key.precision, t.driver_version,
      t.key.nvrtc_version, t.key.generator_version, keys, t.updated_at, t.tuning_seconds,
      t.winner.empty() ? "(none)" : t.winner);
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
