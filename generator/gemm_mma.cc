// The tensor-core GEMM family as one unit: its tunables table and name, the parts of its
// emitted source, and the geometry of its launches.
#include "generator/gemm_mma.h"

#include <fmt/format.h>

#include "fusetune/status.h"
#include "generator/kernel_assembly.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

using C = GemmMmaConfig;

std::string config_tail(const Spec& spec, const C& c) {
  return guard_constants(edge_guards(spec.main, c)) + smem_constant(c.smem_bytes(spec.main));
}

// The template takes its operand and output types from the pointers.
std::string body(const Spec& spec, const C&) {
  const MainOp& main = spec.main;
  return fmt::format(
      "  ft::gemm_mma<Config>({}, {}, {}, Epilogue{{args}}, ft::row_count<Config>(args));\n",
      tensor_pointer(0, main.dtype), tensor_pointer(1, main.dtype), output_pointer(main));
}

// The fallback of the tensor-core GEMMs (after warpgroup MMA): some 16-bit shapes suit no
// configuration (an odd K cannot be copied in 4-byte pieces), which its rules then say.
std::optional<C> default_config(const Spec& spec, const DeviceLimits& limits, Precision precision) {
  const C fallback = gemm_mma_default(spec.main, limits, precision);
  if (const std::optional<std::string> why = gemm_mma_rejection(spec.main, limits, fallback))
    throw Error(StatusCode::invalid_argument,
                fmt::format("no kernel can run '{}' at precision {} on {}: {}", spec.canonical(),
                            to_string(precision), limits.arch, *why));
  return fallback;
}

}  // namespace

const KernelFamily<C>& family_of(const C&) {
  static const KernelFamily<C> family{
      .name = "gemm_mma",
      .example = "ft_gemm_mma_128x128x16_w2x2_s3_3xtf32_va4_vb4",
      .precisions = kTensorCorePrecisions,
      .dynamic_rows = true,
      .tunables =
          {
              {"warps_m", &C::warps_m, "WARPS_M"},
              {"warps_n", &C::warps_n, "WARPS_N", ConfigLine::joined},
              {"mma_tiles_m", &C::mma_tiles_m, "MMA_TILES_M"},
              {"mma_tiles_n", &C::mma_tiles_n, "MMA_TILES_N", ConfigLine::joined},
              {"bk", &C::bk, "BK"},
              {"stages", &C::stages, "STAGES", ConfigLine::joined},
              {.key = "passes",
               .member = &C::passes,
               .constant = "PASSES",
               .comment = [](const C& c) { return to_string(c.precision()); }},
              {"vec_a", &C::vec_a, "VEC_A"},
              {"vec_b", &C::vec_b, "VEC_B", ConfigLine::joined},
              // Absent in results stored before 16-bit inputs: fp32.
              {.key = "dtype", .member = spelled<&C::dtype>(data_type_words()), .absent = 0},
          },
      .name_parts =
          {
              number("", "BM", 4, derived<&C::block_m>()),
              number("x", "BN", 4, derived<&C::block_n>()),
              number("x", "BK", 4, field<&C::bk>()),
              number("_w", "WM", 2, field<&C::warps_m>()),
              number("x", "WN", 2, field<&C::warps_n>()),
              number("_s", "STAGES", 2, field<&C::stages>()),
              precision_word<C, kTensorCorePrecisions>(),
              number("_va", "V", 1, field<&C::vec_a>()),
              number("_vb", "V", 1, field<&C::vec_b>()),
          },
      .edge_guards = edge_guards,
      .resolve_name = resolve_mma_tiles<C>,
      .space = [](const Spec& spec, const DeviceLimits& limits,
                  Precision precision) { return gemm_mma_space(spec.main, limits, precision); },
      .rejection = [](const Spec& spec, const DeviceLimits& limits,
                      const C& c) { return gemm_mma_rejection(spec.main, limits, c); },
      .default_config = default_config,
      // Both instruction sets: the template names both fragment kinds and instantiates one.
      .templates = {{"common.cuh", templates::common_cuh},
                    {"mma_tf32.cuh", templates::mma_tf32_cuh},
                    {"mma_16bit.cuh", templates::mma_16bit_cuh},
                    {"gemm_mma.cuh", templates::gemm_mma_cuh}},
      .config_head = [](const Spec& spec) { return gemm_shape_constants(spec.main); },
      .config_tail = config_tail,
      .body = body,
      .launch = [](const Spec& spec, const C& c) { return launch_geometry(spec.main, c); },
      .block_tile = [](const C& c) -> std::optional<std::array<int, 2>> {
        return std::array{c.block_m(), c.block_n()};
      },
  };
  return family;
}

int GemmMmaConfig::smem_bytes(const MainOp& main) const {
  // Pitches as the template's GemmMmaShape: k-contiguous rows padded by 16 bytes, others by 8
  // elements.
  const int bytes = element_bytes(dtype);
  const int k_pad = 16 / bytes;
  const int a_stage = main.a_k_contiguous() ? block_m() * (bk + k_pad) : bk * (block_m() + 8);
  const int b_stage = main.b_k_contiguous() ? block_n() * (bk + k_pad) : bk * (block_n() + 8);
  return stages * (a_stage + b_stage) * bytes;
}

EdgeGuards edge_guards(const MainOp& main, const GemmMmaConfig& c) {
  return edge_guards(main, c.block_m(), c.block_n(), c.bk);
}

std::int64_t block_count(const MainOp& main, const GemmMmaConfig& c) {
  return tile_count(main, c.block_m(), c.block_n());
}

LaunchGeometry launch_geometry(const MainOp& main, const GemmMmaConfig& c) {
  return tile_grid(main, c.block_m(), c.block_n(), c.threads(), c.smem_bytes(main));
}

}  // namespace fusetune
