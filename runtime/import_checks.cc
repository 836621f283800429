#include "runtime/import_checks.h"

#include <fmt/format.h>

#include "cache/prune.h"
#include "fusetune/status.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "generator/version.h"
#include "runtime/nvrtc.h"
#include "runtime/tuning_key.h"

namespace fusetune {
namespace {

// Why `ms` is too short for `flops` on `arch`, if it is.
std::optional<std::string> beyond_peak(double flops, std::optional<double> ms,
                                       const std::string& arch) {
  if (!ms || flops <= 0) return std::nullopt;
  const double tflops = flops / (*ms * 1e-3) / 1e12;
  if (tflops <= peak_tflops_bound(arch)) return std::nullopt;
  return fmt::format(
      "{:g} ms for {:.3g} GFLOP is {:.3g} TFLOP/s, beyond the {:g} TFLOP/s no {} GPU reaches", *ms,
      flops / 1e9, tflops, peak_tflops_bound(arch), arch);
}

bool of_this_build(const cache::TuningRecord& tuning) {
  return cache::stale_reason(
             tuning, {.generator_version = generator_version(), .nvrtc_version = nvrtc_version()})
      .empty();
}

}  // namespace

double peak_tflops_bound(std::string_view arch) {
  if (arch == "sm_80") return 2 * 312;  // A100
  if (arch == "sm_86") return 2 * 155;  // RTX A6000
  if (arch == "sm_89") return 2 * 367;  // L40S
  if (arch == "sm_90") return 1980;     // H100 SXM and H200: 2 x 989.4
  return 2 * 2250;                      // B200
}

std::optional<std::string> import_problem(const cache::TuningRecord& tuning,
                                          const std::vector<cache::CandidateRecord>& candidates) {
  const bool current = of_this_build(tuning);
  std::optional<Spec> spec;
  try {
    spec = parse_spec(tuning.spec);
  } catch (const Error& e) {
    if (!current) return std::nullopt;  // another build's spec language: never used here
    return fmt::format("its spec does not parse ({})", e.what());
  }
  const std::string& arch = tuning.key.arch;
  if (auto why = beyond_peak(spec->flops(), tuning.winner_time_ms, arch))
    return fmt::format("its winner's time: {}", *why);
  for (const cache::CandidateRecord& c : candidates)
    if (auto why = beyond_peak(spec->flops(), c.time_ms, arch))
      return fmt::format("its candidate \"{}\": {}", c.name, *why);
  if (!current) return std::nullopt;
  const std::optional<DeviceLimits> limits = key_limits(tuning.key);
  if (!limits) return fmt::format("its arch '{}' is none fusetune targets", arch);
  // The winner's configuration is its candidate's (cache/merge.h checks that first).
  for (const cache::CandidateRecord& c : candidates) {
    try {
      validated_config(*spec, *limits, c.config_json);
    } catch (const Error& e) {
      return fmt::format("its candidate \"{}\": {}", c.name, e.what());
    }
  }
  return std::nullopt;
}

}  // namespace fusetune
