#include "generator/gemm_wgmma_emitter.h"

#include <fmt/format.h>

#include <string>

#include "generator/kernel_assembly.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

// "%first, %first+1, ..., %first+count-1"
std::string operand_list(int first, int count) {
  std::string list;
  for (int i = 0; i < count; ++i) list += fmt::format("{}%{}", i ? ", " : "", first + i);
  return list;
}

std::string accumulator_bindings(int count) {
  std::string list;
  for (int i = 0; i < count; ++i) list += fmt::format("{}\"+f\"(d[{}])", i ? ", " : "", i);
  return list;
}

// The wgmma instruction for the configuration's N and operand type (m64nNk8 TF32, m64nNk16
// BF16/FP16), in the operand form it uses: A from shared memory (wgmma_ss) or from registers
// (wgmma_rs, TF32 only). Its operand list has one register per accumulator, which is why it is
// generated rather than written in the template.
std::string wgmma_functions(const GemmWgmmaConfig& c) {
  const int n = c.block_n, d = n / 2;
  const std::string accumulators = operand_list(0, d), bindings = accumulator_bindings(d);
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
      d, n, accumulators, operand_list(d, 4), d + 5, d + 4, bindings);
}

}  // namespace

KernelSource emit_gemm_wgmma(const Spec& spec, const GemmWgmmaConfig& c) {
  const MainOp& main = spec.main;
  const EdgeGuards guards = edge_guards(main, c);
  KernelParts parts;
  parts.name = config_name(main, c);
  parts.launch = launch_geometry(main, c);
  parts.arch_specific = true;
  parts.templates = {{"common.cuh", templates::common_cuh},
                     {"split_k.cuh", templates::split_k_cuh},
                     {"mma_tf32.cuh", templates::mma_tf32_cuh},
                     {"hopper.cuh", templates::hopper_cuh},
                     {"gemm_wgmma.cuh", templates::gemm_wgmma_cuh}};
  parts.config = fmt::format(
      "struct Config {{\n"
      "  using Element = {};\n"
      "  static constexpr int M = {}, N = {}, K = {};\n"
      "  static constexpr int BM = {}, BN = {}, STAGES = {}, CONSUMERS = {}, CLUSTER = {};\n"
      "  static constexpr int PASSES = {};  // {}\n"
      "  static constexpr int SPLITS = {};\n"
      "  static constexpr bool TMA_STORE = {};\n"
      "  static constexpr bool GUARD_M = {}, GUARD_N = {};\n"
      "  static constexpr int SMEM_BYTES = {};  // what the launch gives\n"
      "{}"
      "}};\n",
      cuda_type(main.dtype), main.m, main.n, main.k, c.block_m, c.block_n, c.stages, c.consumers,
      c.cluster, c.passes, to_string(c.precision()), c.splits, c.tma_store, guards.m, guards.n,
      c.smem_bytes(), wgmma_functions(c));
  parts.body =
      fmt::format("  ft::gemm_wgmma<Config>(&map0, &map1, {}, {}, {}, Epilogue{{args}});\n",
                  c.tma_store ? "&map2" : "nullptr", output_pointer(main),
                  c.splits > 1 ? "workspace" : "nullptr");
  return assemble_kernel(spec, parts);
}

}  // namespace fusetune
