#include "generator/generator.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "fusetune/status.h"
#include "generator/gemm_simt_emitter.h"
#include "generator/gemm_simt_space.h"

namespace fusetune {

std::vector<Candidate> search_space(const Spec& spec, const DeviceLimits& limits) {
  std::vector<Candidate> candidates;
  for (const GemmSimtConfig& config : gemm_simt_space(spec.main, limits))
    candidates.push_back({config, config_name(spec.main, config)});
  return candidates;
}

Candidate default_candidate(const Spec& spec, const DeviceLimits& limits) {
  const GemmSimtConfig config = gemm_simt_default(spec.main, limits);
  return {config, config_name(spec.main, config)};
}

Candidate candidate_from_name(const Spec& spec, const DeviceLimits& limits, std::string_view name) {
  std::string why;
  const std::optional<GemmSimtConfig> config = parse_gemm_simt_name(name, &why);
  if (!config)
    throw Error(StatusCode::invalid_argument,
                fmt::format("'{}' names no kernel configuration: {}. Names look like "
                            "ft_gemm_simt_128x128x16_w2x2_t16x8_s3_m_spread; 'fusetune tune "
                            "--compile-only --all' lists those of a spec",
                            name, why));
  if (const auto why = gemm_simt_rejection(spec.main, limits, *config))
    throw Error(
        StatusCode::invalid_argument,
        fmt::format("configuration {} cannot run this spec on {}: {}", name, limits.arch, *why));
  return {*config, config_name(spec.main, *config)};
}

KernelSource generate(const Spec& spec, const KernelConfig& config) {
  return emit_gemm_simt(spec, config);
}

std::string config_json(const KernelConfig& config) { return to_json(config).dump(); }

KernelConfig config_from_json(std::string_view json) {
  try {
    const nlohmann::json parsed = nlohmann::json::parse(json);
    if (parsed.at("family") != "gemm_simt")
      throw Error(StatusCode::invalid_argument,
                  fmt::format("unknown kernel family in stored configuration: {}", json));
    return gemm_simt_from_json(parsed);
  } catch (const nlohmann::json::exception& e) {
    throw Error(StatusCode::invalid_argument,
                fmt::format("stored configuration is not valid ({}): {}", e.what(), json));
  }
}

}  // namespace fusetune
