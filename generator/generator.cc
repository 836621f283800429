#include "generator/generator.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "fusetune/status.h"
#include "generator/conv_mma_emitter.h"
#include "generator/conv_mma_space.h"
#include "generator/conv_simt_emitter.h"
#include "generator/conv_simt_space.h"
#include "generator/gemm_mma_emitter.h"
#include "generator/gemm_mma_space.h"
#include "generator/gemm_simt_emitter.h"
#include "generator/gemm_simt_space.h"
#include "generator/gemm_wgmma_emitter.h"
#include "generator/gemm_wgmma_space.h"
#include "generator/gemv_simt_emitter.h"
#include "generator/gemv_simt_space.h"
#include "generator/plan.h"

namespace fusetune {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

Candidate candidate(const MainOp& main, const KernelConfig& config) {
  return {config, config_name(main, config)};
}

// The direct convolution family pools in its epilogue; the others leave pools to a plan's
// finishing kernels.
bool fuses_pool(const KernelConfig& config) {
  return std::holds_alternative<ConvSimtConfig>(config);
}

// What a kernel of `config`'s family computes of `spec`: the part before any finishing kernels.
Spec kernel_spec(const Spec& spec, const KernelConfig& config) {
  return main_kernel_spec(spec, fuses_pool(config));
}

std::optional<std::string> rejection(const Spec& full_spec, const DeviceLimits& limits,
                                     const KernelConfig& config) {
  const Spec spec = kernel_spec(full_spec, config);
  const MainOp& main = spec.main;
  const bool conv_kernel = std::holds_alternative<ConvSimtConfig>(config) ||
                           std::holds_alternative<ConvMmaConfig>(config);
  if (main.is_conv() != conv_kernel)
    return main.is_conv() ? "a GEMM kernel cannot run a convolution"
                          : "a convolution kernel cannot run a GEMM";
  return std::visit(
      Overloaded{[&](const GemmSimtConfig& c) { return gemm_simt_rejection(main, limits, c); },
                 [&](const GemmMmaConfig& c) { return gemm_mma_rejection(main, limits, c); },
                 [&](const GemmWgmmaConfig& c) { return gemm_wgmma_rejection(main, limits, c); },
                 [&](const ConvSimtConfig& c) { return conv_simt_rejection(spec, limits, c); },
                 [&](const ConvMmaConfig& c) { return conv_mma_rejection(spec, limits, c); },
                 [&](const GemvSimtConfig& c) { return gemv_simt_rejection(main, limits, c); }},
      config);
}

}  // namespace

Precision precision_of(const KernelConfig& config) {
  return std::visit(Overloaded{[](const GemmSimtConfig&) { return Precision::fp32; },
                               [](const ConvSimtConfig&) { return Precision::fp32; },
                               [](const GemvSimtConfig&) { return Precision::fp32; },
                               [](const auto& c) { return c.precision(); }},
                    config);
}

std::string config_name(const MainOp& main, const KernelConfig& config) {
  return std::visit([&](const auto& c) { return config_name(main, c); }, config);
}

std::vector<Candidate> search_space(const Spec& spec, const DeviceLimits& limits,
                                    Precision precision) {
  std::vector<Candidate> candidates;
  if (spec.main.is_conv()) {
    // fp32 on CUDA cores (every convolution, pooling in the epilogue); TF32 and 3xTF32 on tensor
    // cores, any pool step left to finishing kernels.
    if (precision == Precision::fp32)
      for (const ConvSimtConfig& c : conv_simt_space(main_kernel_spec(spec, true), limits))
        candidates.push_back(candidate(spec.main, c));
    for (const ConvMmaConfig& c : conv_mma_space(main_kernel_spec(spec, false), limits, precision))
      candidates.push_back(candidate(spec.main, c));
    return candidates;
  }
  if (precision == Precision::fp32) {
    // The matrix-vector family first where it applies (M <= 16): it is predicted faster there.
    for (const GemvSimtConfig& c : gemv_simt_space(spec.main, limits))
      candidates.push_back(candidate(spec.main, c));
    for (const GemmSimtConfig& c : gemm_simt_space(spec.main, limits))
      candidates.push_back(candidate(spec.main, c));
  } else {
    // Warpgroup MMA first where it applies: it is predicted faster than any mma.sync kernel.
    for (const GemmWgmmaConfig& c : gemm_wgmma_space(spec.main, limits, precision))
      candidates.push_back(candidate(spec.main, c));
    for (const GemmMmaConfig& c : gemm_mma_space(spec.main, limits, precision))
      candidates.push_back(candidate(spec.main, c));
  }
  return candidates;
}

std::vector<Candidate> best_predicted(std::vector<Candidate> space, std::size_t limit) {
  if (limit == 0 || space.size() <= limit) return space;
  // One queue per family (the variant's alternative), each in the space's predicted order, the
  // families in the order the space lists them.
  std::vector<std::vector<Candidate>> families;
  std::vector<std::size_t> family_of_alternative(std::variant_size_v<KernelConfig>, space.size());
  for (Candidate& c : space) {
    std::size_t& family = family_of_alternative[c.config.index()];
    if (family == space.size()) {
      family = families.size();
      families.emplace_back();
    }
    families[family].push_back(std::move(c));
  }
  std::vector<Candidate> chosen;
  for (std::size_t rank = 0; chosen.size() < limit; ++rank)
    for (std::vector<Candidate>& family : families)
      if (rank < family.size() && chosen.size() < limit) chosen.push_back(std::move(family[rank]));
  return chosen;
}

std::optional<std::string> missing_family(const Spec& spec, Precision precision) {
  if (!spec.main.is_conv() || precision == Precision::fp32) return std::nullopt;
  if (precision != Precision::tf32 && precision != Precision::tf32x3)
    return fmt::format("{} has no {} kernel family; use --precision fp32, tf32 or 3xtf32",
                       main_op_name(spec.main.kind), to_string(precision));
  if (const std::optional<std::string> why = conv_mma_spec_rejection(main_kernel_spec(spec, false)))
    return fmt::format("'{}' has no kernel at precision {}: {}", spec.canonical(),
                       to_string(precision), *why);
  return std::nullopt;
}

Candidate default_candidate(const Spec& spec, const DeviceLimits& limits, Precision precision) {
  if (spec.main.is_conv()) {
    if (const std::optional<std::string> why = missing_family(spec, precision))
      throw Error(StatusCode::invalid_argument, *why);
    if (precision == Precision::fp32)
      return candidate(spec.main, conv_simt_default(main_kernel_spec(spec, true), limits));
    return candidate(spec.main, conv_mma_default(main_kernel_spec(spec, false), limits, precision));
  }
  if (precision == Precision::fp32)
    return candidate(spec.main, gemm_simt_default(spec.main, limits));
  if (const std::vector<GemmWgmmaConfig> space = gemm_wgmma_space(spec.main, limits, precision);
      !space.empty())
    return candidate(spec.main, space.front());
  const GemmMmaConfig fallback = gemm_mma_default(spec.main, limits, precision);
  // Some 16-bit shapes suit no family (an odd K cannot be copied in 4-byte pieces).
  if (const std::optional<std::string> why = gemm_mma_rejection(spec.main, limits, fallback))
    throw Error(StatusCode::invalid_argument,
                fmt::format("no kernel can run '{}' at precision {} on {}: {}", spec.canonical(),
                            to_string(precision), limits.arch, *why));
  return candidate(spec.main, fallback);
}

Candidate candidate_from_name(const Spec& spec, const DeviceLimits& limits, std::string_view name) {
  std::string why;
  std::optional<KernelConfig> config;
  if (name.starts_with("ft_conv_simt_")) {
    if (auto c = parse_conv_simt_name(name, &why)) config = *c;
  } else if (name.starts_with("ft_conv_mma_")) {
    if (auto c = parse_conv_mma_name(name, &why)) config = *c;
  } else if (name.starts_with("ft_gemm_mma_")) {
    if (auto c = parse_gemm_mma_name(name, &why)) config = *c;
  } else if (name.starts_with("ft_gemm_wgmma_")) {
    if (auto c = parse_gemm_wgmma_name(name, &why)) config = *c;
  } else if (name.starts_with("ft_gemv_simt_")) {
    if (auto c = parse_gemv_simt_name(name, &why)) config = *c;
  } else if (auto c = parse_gemm_simt_name(name, &why)) {
    config = *c;
  }
  if (!config)
    throw Error(StatusCode::invalid_argument,
                fmt::format("'{}' names no kernel configuration: {}. Names look like "
                            "ft_gemm_simt_128x128x16_w2x2_t16x8_s3_m_spread or "
                            "ft_gemm_mma_128x128x16_w2x2_s3_3xtf32_va4_vb4 or "
                            "ft_gemm_wgmma_128x128_c2_s4_bf16_p132 or "
                            "ft_gemv_simt_rows_m1_w8_r2_u4_v4_k4 or "
                            "ft_conv_simt_co32x8_t1x4x32_c1x1x2_ci16 or "
                            "ft_conv_mma_128x128x16_w2x4_s3_tf32_vb4; 'fusetune tune "
                            "--compile-only --all' lists those of a spec",
                            name, why));
  if (const auto reason = rejection(spec, limits, *config))
    throw Error(
        StatusCode::invalid_argument,
        fmt::format("configuration {} cannot run this spec on {}: {}", name, limits.arch, *reason));
  return candidate(spec.main, *config);
}

KernelSource generate(const Spec& full_spec, const KernelConfig& config) {
  const Spec spec = kernel_spec(full_spec, config);
  KernelSource main =
      std::visit(Overloaded{[&](const GemmSimtConfig& c) { return emit_gemm_simt(spec, c); },
                            [&](const GemmMmaConfig& c) { return emit_gemm_mma(spec, c); },
                            [&](const GemmWgmmaConfig& c) { return emit_gemm_wgmma(spec, c); },
                            [&](const ConvSimtConfig& c) { return emit_conv_simt(spec, c); },
                            [&](const ConvMmaConfig& c) { return emit_conv_mma(spec, c); },
                            [&](const GemvSimtConfig& c) { return emit_gemv_simt(spec, c); }},
                 config);
  return with_finishing_kernels(full_spec, spec, std::move(main));
}

std::string config_json(const KernelConfig& config) {
  return std::visit([](const auto& c) { return to_json(c).dump(); }, config);
}

KernelConfig config_from_json(std::string_view json) {
  try {
    const nlohmann::json parsed = nlohmann::json::parse(json);
    const std::string family = parsed.at("family");
    if (family == "gemm_simt") return gemm_simt_from_json(parsed);
    if (family == "gemm_mma") return gemm_mma_from_json(parsed);
    if (family == "gemm_wgmma") return gemm_wgmma_from_json(parsed);
    if (family == "conv_simt") return conv_simt_from_json(parsed);
    if (family == "conv_mma") return conv_mma_from_json(parsed);
    if (family == "gemv_simt") return gemv_simt_from_json(parsed);
    throw Error(
        StatusCode::invalid_argument,
        fmt::format("unknown kernel family '{}' in stored configuration: {}", family, json));
  } catch (const nlohmann::json::exception& e) {
    throw Error(StatusCode::invalid_argument,
                fmt::format("stored configuration is not valid ({}): {}", e.what(), json));
  }
}

}  // namespace fusetune
