#include "generator/int8x_gemm.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "fusetune/status.h"
#include "generator/int8_slices.h"
#include "generator/int8_slicing.h"
#include "generator/kernel_assembly.h"
#include "generator/template_text.h"
#include "generator/tile_grid.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

constexpr int kMaxSmemBytes = 232448;  // sm_90's opt-in shared memory per block

}  // namespace

std::string int8x_wgmma_function(int n) {
  const int d = n / 2;
  const std::string accumulators = asm_operands(0, d), bindings = asm_bindings("+r", "d", d);
  return fmt::format(
      "  static __device__ __forceinline__ void wgmma_ss(int (&d)[{0}], unsigned long long a,\n"
      "                                                  unsigned long long b, int scale_d) {{\n"
      "    asm volatile(\n"
      "        \"{{\\n .reg .pred p;\\n setp.ne.b32 p, %{3}, 0;\\n\"\n"
      "        \" wgmma.mma_async.sync.aligned.m64n{1}k32.s32.s8.s8 {{{2}}}, %{4}, %{5}, "
      "p;\\n}}\\n\"\n"
      "        : {6}\n"
      "        : \"l\"(a), \"l\"(b), \"r\"(scale_d));\n"
      "  }}\n",
      d, n, accumulators, d + 2, d, d + 1, bindings);
}

int int8x_gemm_smem_bytes(const Int8xGemmConfig& c) {
  return c.stages * c.slices * (c.block_m + c.block_n) * c.block_k + 16 * c.stages + 1024;
}

TensorMapSpec int8x_digit_map(int tensor, std::int64_t rows, std::int64_t k,
                              const Int8xGemmConfig& c) {
  return {.tensor = tensor,
          .rows = c.slices * rows,
          .cols = slicing_layout(1, k, 1).pitch,
          .box_rows = tensor == 0 ? c.block_m : c.block_n,
          .box_cols = c.block_k,
          .int8_digits = true,
          .swizzle_bytes = c.block_k};
}

std::optional<std::string> int8x_gemm_rejection(std::int64_t m, std::int64_t n, std::int64_t k,
                                                const Int8xGemmConfig& c) {
  if (m < 1 || n < 1 || k < 1) return "an empty product";
  if (c.slices < 1 || c.slices > kMaxSlices)
    return fmt::format("{} digits per value: 1 to {}", c.slices, kMaxSlices);
  if (c.through < 2 || c.through > 2 * c.slices)
    return fmt::format("digit pairs through {}: 2 to {}", c.through, 2 * c.slices);
  if (c.consumers < 1 || c.consumers > 2) return "one or two consumer warpgroups";
  if (c.block_m % (64 * c.consumers) != 0)
    return fmt::format("{} rows per tile: a multiple of 64 per consumer", c.block_m);
  if (c.block_n % 16 != 0 || c.block_n > 224)
    return fmt::format("{} columns per tile: integer wgmma takes multiples of 16 up to 224",
                       c.block_n);
  if (c.block_k != 128 && c.block_k != 64)
    return fmt::format("k-tiles of {} digits: 128 or 64, a row of the 128- or 64-byte swizzle",
                       c.block_k);
  if (c.stages < 2) return "at least two stages";
  if (c.blocks < 1) return "no blocks";
  if (int8x_gemm_smem_bytes(c) > kMaxSmemBytes)
    return fmt::format("{} bytes of shared memory; sm_90 allows {}", int8x_gemm_smem_bytes(c),
                       kMaxSmemBytes);
  // The most digit pairs one diagonal sums, each 127^2 per k at most: exact in int32.
  const std::int64_t pairs = std::min(c.slices, c.through - 1);
  if (127LL * 127 * pairs * k >= (std::int64_t{1} << 31))
    return fmt::format("K = {}: {} digit pairs of a diagonal could overflow int32", k, pairs);
  return std::nullopt;
}

KernelSource emit_int8x_gemm(std::int64_t m, std::int64_t n, std::int64_t k,
                             const Int8xGemmConfig& c) {
  if (const std::optional<std::string> why = int8x_gemm_rejection(m, n, k, c))
    throw Error(StatusCode::invalid_argument, "no int8x product: " + *why);
  const std::int64_t pitch = slicing_layout(1, k, 1).pitch;
  const std::int64_t tiles = ((m + c.block_m - 1) / c.block_m) * ((n + c.block_n - 1) / c.block_n);
  KernelSource kernel;
  kernel.name = fmt::format("ft_int8x_gemm_{}x{}x{}_p{}t{}_{}x{}x{}_s{}_c{}", m, n, k, c.slices,
                            c.through, c.block_m, c.block_n, c.block_k, c.stages, c.consumers);
  kernel.arch_specific = true;
  kernel.launch.grid = launch_grid(std::min<std::int64_t>(tiles, c.blocks));
  kernel.launch.block = {static_cast<unsigned>(128 * (1 + c.consumers)), 1, 1};
  kernel.launch.dynamic_smem_bytes = static_cast<unsigned>(int8x_gemm_smem_bytes(c));
  kernel.launch.tensor_maps = {int8x_digit_map(0, m, k, c), int8x_digit_map(1, n, k, c)};
  kernel.code = fmt::format("// fusetune int8x product: {} x {} x {}, {} digits through {}\n\n", m,
                            n, k, c.slices, c.through);
  kernel.code += inline_template("common.cuh", templates::common_cuh);
  kernel.code += inline_template("hopper.cuh", templates::hopper_cuh);
  kernel.code += inline_template("int8_slices.cuh", templates::int8_slices_cuh);
  kernel.code += inline_template("gemm_wgmma_int8.cuh", templates::gemm_wgmma_int8_cuh);
  kernel.code += fmt::format(
      "\nstruct Config {{\n"
      "  static constexpr int M = {0}, N = {1}, K = {2}, PITCH = {3};\n"
      "  static constexpr bool TRANSPOSED_A = false, TRANSPOSED_B = false;\n"
      "  static constexpr int SLICES = {4}, THROUGH = {5}, RUNS_ON = 0;\n"
      "  static constexpr int BM = {6}, BN = {7}, BK = {16}, STAGES = {8}, CONSUMERS = {9};\n"
      "  static constexpr int SMEM_BYTES = {10};\n"
      "  static constexpr bool GUARD_M = {11}, GUARD_N = {12};\n{13}}};\n\n"
      "// The product as it is.\n"
      "struct Epilogue {{\n"
      "  template <int W>\n"
      "  __device__ __forceinline__ void apply(float (&)[W], int, int) const {{}}\n"
      "}};\n\n"
      "extern \"C\" __global__ void __launch_bounds__({14}, 1)\n"
      "{15}(const __grid_constant__ ft::LaunchArgs args, const __grid_constant__ ft::TensorMap "
      "map0,\n    const __grid_constant__ ft::TensorMap map1) {{\n"
      "  ft::gemm_wgmma_int8<Config>(&map0, &map1, args.out,\n"
      "                              reinterpret_cast<const int*>(args.tensors[2]),\n"
      "                              reinterpret_cast<const int*>(args.tensors[3]), "
      "Epilogue{{}});\n}}\n",
      m, n, k, pitch, c.slices, c.through, c.block_m, c.block_n, c.stages, c.consumers,
      int8x_gemm_smem_bytes(c), m % c.block_m != 0, n % c.block_n != 0,
      int8x_wgmma_function(c.block_n), 128 * (1 + c.consumers), kernel.name, c.block_k);
  return kernel;
}

}  // namespace fusetune
