// The Hopper warpgroup-MMA GEMM family as one unit: its tunables table and name, the parts of its
// emitted source (with the wgmma instruction for its N), and the geometry of its launches.
#include "generator/gemm_wgmma.h"

#include <fmt/format.h>

#include "generator/kernel_assembly.h"
#include "generator/tile_grid.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

using C = GemmWgmmaConfig;

// The wgmma instruction for the configuration's N and operand type (m64nNk8 TF32, m64nNk16
// BF16/FP16), in the operand form it uses: A from shared memory (wgmma_ss) or from registers
// (wgmma_rs, TF32 only). Its operand list has one register per accumulator, which is why it is
// generated rather than written in the template.
std::string wgmma_functions(const GemmWgmmaConfig& c) {
  const int n = c.block_n, d = n / 2;
  const std::string accumulators = asm_operands(0, d), bindings = asm_bindings("+f", "d", d);
  // A is read from registers where the template splits it there (3xTF32, SPLIT_OPERANDS).
  if (c.passes == 1) {
    // m64nNk8 TF32, or m64nNk16 with both operands K-major (transpose immediates 0).
    const std::string shape = c.dtype == DataType::fp32   ? "k8.f32.tf32.tf32"
                              : c.dtype == DataType::bf16 ? "k16.f32.bf16.bf16"
                                                          : "k16.f32.f16.f16";
    const std::string_view transposes = c.dtype == DataType::fp32 ? "" : ", 0, 0";
    return fmt::format(
        "  static __device__ __forceinline__ void wgmma_ss(float (&d)[{0}], unsigned long long a,\n"
        "                                                  unsigned long long b, int scale_d) {{\n"
        "    asm volatile(\n"
        "        \"{{\\n .reg .pred p;\\n setp.ne.b32 p, %{3}, 0;\\n\"\n"
        "        \" wgmma.mma_async.sync.aligned.m64n{1}{6} {{{2}}}, %{0}, %{4}, p, 1, "
        "1{7};\\n}}\\n\"\n"
        "        : {5}\n"
        "        : \"l\"(a), \"l\"(b), \"r\"(scale_d));\n"
        "  }}\n",
        d, n, accumulators, d + 2, d + 1, bindings, shape, transposes);
  }
  return wgmma_tf32_register_a(n);
}

}  // namespace

std::string wgmma_tf32_register_a(int n) {
  const int d = n / 2;
  const std::string accumulators = asm_operands(0, d), bindings = asm_bindings("+f", "d", d);
  return fmt::format(
      "  static __device__ __forceinline__ void wgmma_rs(float (&d)[{0}], const float (&a)[4],\n"
      "                                                  unsigned long long b, int scale_d) {{\n"
      "    asm volatile(\n"
      "        \"{{\\n .reg .pred p;\\n setp.ne.b32 p, %{4}, 0;\\n\"\n"
      "        \" wgmma.mma_async.sync.aligned.m64n{1}k8.f32.tf32.tf32 {{{2}}}, {{{3}}}, %{5}, p, "
      "1, 1;\\n}}\\n\"\n"
      "        : {6}\n"
      "        : \"r\"(__float_as_uint(a[0])), \"r\"(__float_as_uint(a[1])),\n"
      "          \"r\"(__float_as_uint(a[2])), \"r\"(__float_as_uint(a[3])), \"l\"(b), "
      "\"r\"(scale_d));\n"
      "  }}\n",
      d, n, accumulators, asm_operands(d, 4), d + 5, d + 4, bindings);
}

namespace {

std::string config_head(const Spec& spec) {
  const MainOp& main = spec.main;
  return fmt::format(
      "  using Element = {};\n"
      "  static constexpr int M = {}, N = {}, K = {};\n"
      "  static constexpr bool TRANSPOSED_A = {}, TRANSPOSED_B = {};\n",
      cuda_type(main.dtype), main.m, main.n, main.k, !main.a_k_contiguous(),
      !main.b_k_contiguous());
}

std::string config_tail(const Spec& spec, const C& c) {
  return guard_constants(edge_guards(spec.main, c), false) +
         smem_constant(c.smem_bytes(spec.main)) + wgmma_functions(c);
}

std::string body(const Spec& spec, const C& c) {
  return fmt::format("  ft::gemm_wgmma<Config>(&map0, &map1, {}, {}, {}, Epilogue{{args}});\n",
                     c.tma_store ? "&map2" : "nullptr", output_pointer(spec.main),
                     c.splits > 1 ? "workspace" : "nullptr");
}

}  // namespace

const KernelFamily<C>& family_of(const C&) {
  static const KernelFamily<C> family{
      .name = "gemm_wgmma",
      .example = "ft_gemm_wgmma_128x128_c2_s4_bf16_p132",
      .precisions = kTensorCorePrecisions,
      .leads = true,
      .tunables =
          {
              {"block_m", &C::block_m, "BM"},
              {"block_n", &C::block_n, "BN", ConfigLine::joined},
              {"stages", &C::stages, "STAGES", ConfigLine::joined},
              {"consumers", &C::consumers, "CONSUMERS", ConfigLine::joined},
              // Absent in results stored before clusters.
              {.key = "cluster",
               .member = &C::cluster,
               .constant = "CLUSTER",
               .line = ConfigLine::joined,
               .absent = 1},
              {.key = "passes",
               .member = &C::passes,
               .constant = "PASSES",
               .comment = [](const C& c) { return to_string(c.precision()); }},
              // Absent in results stored before split-K.
              {.key = "splits", .member = &C::splits, .constant = "SPLITS", .absent = 1},
              // Absent in results stored before TMA stores.
              {.key = "tma_store", .member = &C::tma_store, .constant = "TMA_STORE", .absent = 0},
              {"blocks", &C::blocks},  // the grid, not in the Config
              // Absent in results stored before 16-bit inputs: fp32. The Config's Element is
              // the spec's.
              {.key = "dtype", .member = spelled<&C::dtype>(data_type_words()), .absent = 0},
              // Results stored before the TMA rounded TF32 operands also hold "round_a" and
              // "round_b" (rounding in the kernel): read as today's kernel, which rounds both.
          },
      .name_parts =
          {
              number("", "BM", 4, field<&C::block_m>()),
              number("x", "BN", 4, field<&C::block_n>()),
              number("_c", "CONSUMERS", 1, field<&C::consumers>()),
              number("_s", "STAGES", 2, field<&C::stages>()),
              precision_word<C, kTensorCorePrecisions>(),
              optional_number("_k", "SPLITS", 3, field<&C::splits>(), 1),
              optional_number("_x", "CLUSTER", 1, field<&C::cluster>(), 1),
              flag("_ts", field<&C::tma_store>()),
              number("_p", "BLOCKS", 4, field<&C::blocks>()),
          },
      .edge_guards = edge_guards,
      .space = [](const Spec& spec, const DeviceLimits& limits,
                  Precision precision) { return gemm_wgmma_space(spec.main, limits, precision); },
      .rejection = [](const Spec& spec, const DeviceLimits& limits,
                      const C& c) { return gemm_wgmma_rejection(spec.main, limits, c); },
      // The best predicted, where the family applies; else the next family's default.
      // Not for operands stored the other way: their helper-written stages join the search,
      // where each candidate is verified, but an untuned spec runs the mma.sync family's default.
      .default_config = [](const Spec& spec, const DeviceLimits& limits,
                           Precision precision) -> std::optional<C> {
        if (!spec.main.a_k_contiguous() || !spec.main.b_k_contiguous()) return std::nullopt;
        const std::vector<C> space = gemm_wgmma_space(spec.main, limits, precision);
        if (space.empty()) return std::nullopt;
        return space.front();
      },
      .templates = {{"common.cuh", templates::common_cuh},
                    {"split_k.cuh", templates::split_k_cuh},
                    {"mma_tf32.cuh", templates::mma_tf32_cuh},
                    {"hopper.cuh", templates::hopper_cuh},
                    {"gemm_wgmma.cuh", templates::gemm_wgmma_cuh}},
      .config_head = config_head,
      .config_tail = config_tail,
      .body = body,
      .launch = [](const Spec& spec, const C& c) { return launch_geometry(spec.main, c); },
      .arch_specific = true,
      .block_tile = [](const C& c) -> std::optional<std::array<int, 2>> {
        return std::array{c.block_m, c.block_n};
      },
  };
  return family;
}

int GemmWgmmaConfig::smem_bytes(const MainOp& main) const {
  // Per stage: A and B tiles, at 3xTF32 B's remainder, and an operand stored the other way as
  // the TMA copies it; three mbarriers per stage; split-K's flags; and the slack that lets the
  // kernel align its base to 1024 bytes.
  const int a_stage = block_m * kRowBytes;
  const int b_stage = block_n * kRowBytes;
  const int small_b = passes == 3 ? b_stage : 0;
  const int raw = (main.a_k_contiguous() ? 0 : a_stage) + (main.b_k_contiguous() ? 0 : b_stage);
  const int split_flags = splits > 1 ? 8 : 0;
  const int out_staging = tma_store ? block_m * block_n * element_bytes(dtype) : 0;
  return stages * (a_stage + b_stage + small_b + raw) + out_staging + 24 * stages + split_flags +
         1024;
}

EdgeGuards edge_guards(const MainOp& main, const GemmWgmmaConfig& c) {
  return edge_guards(main, c.block_m, c.block_n, GemmWgmmaConfig::block_k(main.dtype));
}

std::int64_t tile_count(const MainOp& main, const GemmWgmmaConfig& c) {
  return tile_count(main, c.block_m, c.block_n);
}

std::int64_t k_tile_count(const MainOp& main) {
  const int block_k = GemmWgmmaConfig::block_k(main.dtype);
  return (main.k + block_k - 1) / block_k;
}

std::int64_t k_tiles_per_split(const MainOp& main, const GemmWgmmaConfig& c) {
  return k_tiles_per_split(k_tile_count(main), c.splits);
}

LaunchGeometry launch_geometry(const MainOp& main, const GemmWgmmaConfig& c) {
  LaunchGeometry g;
  g.grid = launch_grid(c.blocks);
  g.block = {static_cast<unsigned>(c.threads()), 1, 1};
  g.dynamic_smem_bytes = static_cast<unsigned>(c.smem_bytes(main));
  g.cluster = static_cast<unsigned>(c.cluster);
  // A [M, K] and B [N, K] K-contiguous; each block of a cluster loads its share of B's rows.
  // An operand stored the other way ([K, M], [K, N]) in boxes of 32 k rows by 32 of its rows,
  // as stored (the kernel's helpers write them K-major, rounding them at TF32 themselves).
  const int block_k = GemmWgmmaConfig::block_k(main.dtype);
  const bool round_to_tf32 = main.dtype == DataType::fp32 && c.passes == 1;
  auto operand_map = [&](int tensor, std::int64_t rows, int box_rows, bool k_contiguous) {
    if (!k_contiguous) return TensorMapSpec{tensor, main.k, rows, block_k, 32, main.dtype};
    return TensorMapSpec{tensor, rows, main.k, box_rows, block_k, main.dtype, round_to_tf32};
  };
  g.tensor_maps = {operand_map(0, main.m, c.block_m, main.a_k_contiguous()),
                   operand_map(1, main.n, c.block_n / c.cluster, main.b_k_contiguous())};
  // The output, in strips 128 bytes wide of each consumer's rows (gemm_wgmma.cuh's staging).
  if (c.tma_store)
    g.tensor_maps.push_back({TensorMapSpec::kOutput, main.m, main.n, c.block_m / c.consumers,
                             GemmWgmmaConfig::kRowBytes / element_bytes(main.dtype), main.dtype});
  // Each consumer warpgroup counts its splits in on its own.
  g.workspace_bytes =
      split_k_workspace_bytes(tile_count(main, c), c.splits, c.block_m, c.block_n, c.consumers);
  return g;
}

}  // namespace fusetune
