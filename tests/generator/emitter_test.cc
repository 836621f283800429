// The generated source: pinned byte for byte by golden files, its epilogue checked per operand
// kind, and compiled with NVRTC (which needs no GPU).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "generator/epilogue_emitter.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "runtime/nvrtc.h"

namespace fusetune {
namespace {

constexpr const char* kSeed =
    "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";

DeviceLimits limits_of(const std::string& arch) { return DeviceLimits::for_arch(arch).value(); }

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The lines of `text` with every // comment removed.
std::string without_comments(const std::string& text) {
  std::istringstream in(text);
  std::string code;
  for (std::string line; std::getline(in, line);) code += line.substr(0, line.find("//")) + '\n';
  return code;
}

// Only the // comments of `text`.
std::string only_comments(const std::string& text) {
  std::istringstream in(text);
  std::string comments;
  for (std::string line; std::getline(in, line);)
    if (const std::size_t start = line.find("//"); start != std::string::npos)
      comments += line.substr(start) + '\n';
  return comments;
}

// ---- golden files ----

// Compares `code` with tests/data/golden/<file_name>; with FUSETUNE_UPDATE_GOLDEN=1 in the
// environment, rewrites the file instead, so that an intended change is one command and a diff.
void expect_golden(const std::string& file_name, const std::string& code) {
  const std::filesystem::path path =
      std::filesystem::path(FUSETUNE_TEST_DATA) / "golden" / file_name;
  const char* update = std::getenv("FUSETUNE_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << code;
    EXPECT_EQ(read_file(path), code) << "could not rewrite " << path;
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path))
      << path << " is missing; FUSETUNE_UPDATE_GOLDEN=1 creates it";
  const std::string golden = read_file(path);
  if (golden == code) return;
  std::istringstream expected(golden), actual(code);
  std::string expected_line, actual_line;
  int line = 0;
  while (true) {
    ++line;
    const bool more_expected = static_cast<bool>(std::getline(expected, expected_line));
    const bool more_actual = static_cast<bool>(std::getline(actual, actual_line));
    if (!more_expected || !more_actual || expected_line != actual_line) break;
  }
  ADD_FAILURE() << "generated source differs from " << path << " first at line " << line
                << ":\n  golden:    " << expected_line << "\n  generated: " << actual_line
                << "\nIf the change is intended, run the test with FUSETUNE_UPDATE_GOLDEN=1 and "
                   "review the diff of the golden file.";
}

struct GoldenCase {
  std::string file_name;
  std::string spec;
  std::string config;  // a procedural name; empty: the spec's default candidate
};

const GoldenCase kGoldenCases[] = {
    {"seed_default_sm90.cu", kSeed, ""},
    {"matmul_ta_add_tensor_gelu_tanh_clamp.cu",
     "matmul(m=1000, n=999, k=77, transpose_a=true) -> add(tensor) -> gelu(tanh) -> "
     "clamp(-1.0, 1.0)",
     "ft_gemm_simt_64x128x8_w2x2_t8x8_s4_n_va4_vb1_gmnk"},
    {"linear_add_row_mul_column_sigmoid.cu",
     "linear(m=64, n=64, k=64) -> add(row) -> mul(column) -> sigmoid",
     "ft_gemm_simt_64x64x16_w2x2_t8x4_s3_n_spread"},
    {"seed_mma_3xtf32.cu", "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)",
     "ft_gemm_mma_128x128x16_w2x4_s3_3xtf32_va4_vb4"},
    {"seed_wgmma_3xtf32.cu", kSeed, "ft_gemm_wgmma_128x128_c2_s4_3xtf32_p132"},
    {"linear_m16_wgmma_tf32_split_k.cu", "linear(m=16, n=1024, k=8192) -> bias -> relu",
     "ft_gemm_wgmma_64x128_c1_s4_tf32_k16_p128_gm"},
    {"seed_bf16_wgmma.cu",
     "linear(m=1024, n=8192, k=8192, dtype=bf16) -> bias -> mul(2.0) -> leaky_relu(0.1)",
     "ft_gemm_wgmma_128x256_c2_s4_bf16_p132"},
    {"seed_bf16_wgmma_tma_store.cu",
     "linear(m=1024, n=8192, k=8192, dtype=bf16) -> bias -> mul(2.0) -> leaky_relu(0.1)",
     "ft_gemm_wgmma_128x256_c2_s3_bf16_x2_ts_p132"},
    {"linear_fp16_fp32_out_wgmma.cu",
     "linear(m=100, n=300, k=264, dtype=fp16, out_dtype=fp32) -> add(row) -> mul(tensor)",
     "ft_gemm_wgmma_128x128_c1_s4_fp16_p3_gmnk"},
    {"linear_bf16_mma_guarded.cu", "linear(m=37, n=200, k=3004, dtype=bf16) -> bias -> gelu(tanh)",
     "ft_gemm_mma_32x32x64_w1x2_s3_bf16_va4_vb4_gmnk"},
    {"convt3d_seed_default_sm90.cu",
     "conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, "
     "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
     "max_pool3d(2)",
     ""},
    {"conv2d_groups_global_avg_pool.cu",
     "conv2d(n=3, c=6, h=13, w=17, k=12, kernel=3, padding=1, dilation=2, groups=2) -> "
     "add(tensor) -> relu -> global_avg_pool -> mul(2.0) -> add(channel)",
     ""},
    // Every edge guarded, groups 2, stride, padding and dilation, K = 27 (4-byte weight copies).
    {"conv2d_groups_mma_3xtf32_guarded.cu",
     "conv2d(n=2, c=6, h=19, w=23, k=10, kernel=3, stride=2, padding=2, dilation=2, groups=2) -> "
     "bias -> relu -> add(channel)",
     "ft_conv_mma_32x8x16_w2x1_s3_3xtf32_vb1_gmnk"},
    // The seed's transposed convolution on tensor cores: its output phases, each with its own
    // taps, pooled in the epilogue.
    {"convt3d_seed_mma_3xtf32.cu",
     "conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, "
     "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
     "max_pool3d(2)",
     "ft_conv_mma_128x32x16_w4x1_s3_3xtf32_vb1"},
    // int8x: the slicing passes before the product, the chain in its epilogue.
    {"seed_int8x.cu", kSeed, "ft_gemm_int8x_128x128_d3t4_c2_s2_p132"},
    {"linear_m1_gemv_rows_split_k.cu",
     "linear(m=1, n=1024, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)",
     "ft_gemv_simt_rows_m1_w8_r2_u4_v4_k4"},
    {"matmul_ta_gemv_columns_split_k_guarded.cu",
     "matmul(m=5, n=998, k=300, transpose_a=true) -> add(row) -> silu",
     "ft_gemv_simt_cols_m3_w4_c32_u8_v2_k4_gmnk"},
};

Candidate golden_candidate(const GoldenCase& c) {
  const Spec spec = parse_spec(c.spec);
  if (c.config.empty()) return default_candidate(spec, limits_of("sm_90"), Precision::fp32);
  return candidate_from_name(spec, limits_of("sm_90"), c.config);
}

TEST(Golden, GeneratedSourceMatchesTheGoldenFiles) {
  for (const GoldenCase& c : kGoldenCases) {
    SCOPED_TRACE(c.file_name);
    expect_golden(c.file_name, generate(parse_spec(c.spec), golden_candidate(c).config).code);
  }
}

TEST(Golden, PinnedConfigsAreInTheirSpecsSpaces) {
  for (const GoldenCase& c : kGoldenCases) {
    const Candidate pinned = golden_candidate(c);
    const std::vector<Candidate> space =
        search_space(parse_spec(c.spec), limits_of("sm_90"), precision_of(pinned.config));
    const std::string name = pinned.name;
    EXPECT_TRUE(std::any_of(space.begin(), space.end(), [&](const Candidate& candidate) {
      return candidate.name == name;
    })) << name;
  }
}

// ---- the kernel's frame ----

TEST(GemmSimtEmitter, SourceStartsWithTheSpecTheConfigAndTheLaunch) {
  const Spec spec = parse_spec(kSeed);
  const Candidate candidate = default_candidate(spec, limits_of("sm_90"), Precision::fp32);
  const KernelSource source = generate(spec, candidate.config);
  const LaunchGeometry g = launch_geometry(spec.main, std::get<GemmSimtConfig>(candidate.config));
  EXPECT_EQ(source.name, candidate.name);
  EXPECT_EQ(source.launch, g);
  const std::string header = fmt::format(
      "// fusetune generated kernel; regenerate with: fusetune gen \"{0}\" --config {1}\n"
      "// spec:   {0}\n"
      "// config: {1}\n"
      "// launch: grid ({2}, {3}, 1), block ({4}, 1, 1), {5} bytes of dynamic shared memory\n",
      kSeed, candidate.name, g.grid[0], g.grid[1], g.block[0], g.dynamic_smem_bytes);
  EXPECT_TRUE(source.code.starts_with(header)) << source.code.substr(0, 400);
}

TEST(GemmSimtEmitter, InlinesTheTemplatesWithoutPragmaOnce) {
  const KernelSource source = generate(parse_spec(kSeed), GemmSimtConfig{});
  EXPECT_TRUE(contains(source.code, "// ---- templates/common.cuh ----\n"));
  EXPECT_TRUE(contains(source.code, "// ---- templates/gemm_simt.cuh ----\n"));
  EXPECT_TRUE(contains(source.code, "struct LaunchArgs {"));
  EXPECT_TRUE(contains(source.code, "__device__ __forceinline__ void gemm_simt("));
  EXPECT_FALSE(contains(source.code, "#pragma once"));
  EXPECT_FALSE(contains(source.code, "#include"));
}

TEST(GemmSimtEmitter, ConfigStructCarriesShapeTunablesAndGuards) {
  const Spec spec = parse_spec("matmul(m=1000, n=999, k=77, transpose_a=true)");
  const Candidate c =
      candidate_from_name(spec, limits_of("sm_90"), "ft_gemm_simt_64x128x8_w2x2_t8x8_s4_n_va4_vb1");
  const std::string code = generate(spec, c.config).code;
  EXPECT_TRUE(contains(code,
                       "struct Config {\n"
                       "  static constexpr int M = 1000, N = 999, K = 77;\n"
                       "  static constexpr bool A_K_CONTIGUOUS = false, B_K_CONTIGUOUS = false, "
                       "DYNAMIC_M = false;\n"
                       "  static constexpr int WARPS_M = 2, WARPS_N = 2;\n"
                       "  static constexpr int LANES_M = 4, LANES_N = 8;\n"
                       "  static constexpr bool LANE_N_FASTEST = true;\n"
                       "  static constexpr int REP_M = 2, REP_N = 2;\n"
                       "  static constexpr int BK = 8, STAGES = 4;\n"
                       "  static constexpr bool SPREAD_FILL = false;\n"
                       "  static constexpr int VEC_A = 4, VEC_B = 1;\n"
                       "  static constexpr int SPLITS = 1;\n"
                       "  static constexpr bool GUARD_M = true, GUARD_N = true, GUARD_K = true;\n"
                       "};\n"))
      << code.substr(code.find("struct Config"), 700);
}

TEST(GemmSimtEmitter, UnguardedShapeHasNoGuardsInItsConfig) {
  const Spec spec = parse_spec(kSeed);
  const Candidate c = default_candidate(spec, limits_of("sm_90"), Precision::fp32);
  EXPECT_TRUE(
      contains(generate(spec, c.config).code,
               "  static constexpr bool GUARD_M = false, GUARD_N = false, GUARD_K = false;\n"));
}

TEST(GemmSimtEmitter, EntryIsNamedAfterTheConfigWithItsLaunchBounds) {
  const Spec spec = parse_spec(kSeed);
  GemmSimtConfig config;  // 128 threads
  config.min_blocks = 2;
  const KernelSource source = generate(spec, config);
  EXPECT_TRUE(
      contains(source.code, fmt::format("extern \"C\" __global__ void __launch_bounds__(128, 2)\n"
                                        "{}(const __grid_constant__ ft::LaunchArgs args) {{\n",
                                        source.name)));
  EXPECT_TRUE(contains(source.name, "_occ2"));
  EXPECT_TRUE(contains(source.code,
                       "ft::gemm_simt<Config>(args.tensors[0], args.tensors[1], args.out, "
                       "nullptr, Epilogue{args},\n"
                       "                        ft::row_count<Config>(args));"));
}

// ---- the epilogue ----

TEST(EpilogueEmitter, ReadsEachOperandKindFromItsSlotInSpecOrder) {
  const Spec spec = parse_spec(
      "linear(m=64, n=48, k=16) -> mul(2.0) -> add(column) -> leaky_relu(0.1) -> sub(row) -> "
      "clamp(-1.0, 1.0) -> div(tensor) -> bias");
  // The kernel reads args.tensors and args.scalars in the order the spec lists its operands.
  std::vector<std::string> tensors, scalars;
  for (const TensorArg& t : spec.tensors()) tensors.push_back(t.name);
  for (const ScalarArg& s : spec.scalars()) scalars.push_back(s.name);
  ASSERT_EQ(tensors, (std::vector<std::string>{"x", "weight", "add_column", "sub_row", "div_tensor",
                                               "bias"}));
  ASSERT_EQ(scalars, (std::vector<std::string>{"mul.value", "leaky_relu.negative_slope",
                                               "clamp.min", "clamp.max"}));
  const std::string code = emit_epilogue(spec);
  const std::string loads[] = {
      "    const float s0 = args.scalars[0];\n",
      "    float t2[W];\n    ft::load_floats<W>(t2, args.tensors[2] + n);\n",
      "    const float s1 = args.scalars[1];\n",
      "    const float t3 = __ldg(args.tensors[3] + m);\n",
      "    const float s2 = args.scalars[2];\n    const float s3 = args.scalars[3];\n",
      "    float t4[W];\n"
      "    ft::load_floats<W>(t4, args.tensors[4] + static_cast<long long>(m) * 48 + n);\n",
      "    float t5[W];\n    ft::load_floats<W>(t5, args.tensors[5] + n);\n",
  };
  const std::string statements[] = {
      "      x = x * s0;  // mul(2.0)\n",
      "      x = x + t2[j];  // add(column)\n",
      "      x = x < 0.f ? x * s1 : x;  // leaky_relu(0.1)\n",
      "      x = x - t3;  // sub(row)\n",
      "      x = x != x ? x : fminf(fmaxf(x, s2), s3);  // clamp(-1.0, 1.0)\n",
      "      x = x / t4[j];  // div(tensor)\n",
      "      x = x + t5[j];  // bias\n",
  };
  // Loads in spec order, then the statements in spec order.
  std::size_t at = 0;
  for (const std::string& part : loads) {
    const std::size_t found = code.find(part, at);
    ASSERT_NE(found, std::string::npos) << "missing or out of order:\n" << part << "in\n" << code;
    at = found + part.size();
  }
  for (const std::string& part : statements) {
    const std::size_t found = code.find(part, at);
    ASSERT_NE(found, std::string::npos) << "missing or out of order:\n" << part << "in\n" << code;
    at = found + part.size();
  }
  EXPECT_TRUE(contains(code, "apply(float (&v)[W], int m, int n) const {"));
  EXPECT_TRUE(contains(code, "      float x = v[j];\n"));
  EXPECT_TRUE(contains(code, "      v[j] = x;\n"));
}

TEST(EpilogueEmitter, MarksTheIndicesAnEpilogueDoesNotReadAsUnused) {
  EXPECT_TRUE(contains(emit_epilogue(parse_spec("linear(m=8, n=8, k=8) -> relu")),
                       "apply(float (&v)[W], [[maybe_unused]] int m, [[maybe_unused]] int n)"));
  EXPECT_TRUE(contains(emit_epilogue(parse_spec("linear(m=8, n=8, k=8) -> bias")),
                       "apply(float (&v)[W], [[maybe_unused]] int m, int n)"));
  EXPECT_TRUE(contains(emit_epilogue(parse_spec("linear(m=8, n=8, k=8) -> add(row)")),
                       "apply(float (&v)[W], int m, [[maybe_unused]] int n)"));
}

TEST(EpilogueEmitter, UnaryOpsReadTheirParametersAsScalars) {
  const std::string code = emit_epilogue(
      parse_spec("linear(m=8, n=8, k=8) -> softplus(2.0, 20.0) -> hardtanh -> relu -> sigmoid"));
  EXPECT_TRUE(contains(code,
                       "    const float s0 = args.scalars[0];\n"
                       "    const float s1 = args.scalars[1];\n"
                       "    const float s2 = args.scalars[2];\n"
                       "    const float s3 = args.scalars[3];\n"));
  EXPECT_TRUE(contains(
      code, "      x = x * s0 > s1 ? x : log1pf(expf(s0 * x)) / s0;  // softplus(2.0, 20.0)\n"));
  EXPECT_TRUE(
      contains(code, "      x = x != x ? x : fminf(fmaxf(x, s2), s3);  // hardtanh(-1.0, 1.0)\n"));
  EXPECT_TRUE(contains(code, "      x = x < 0.f ? 0.f : x;  // relu\n"));
  EXPECT_TRUE(contains(code, "      x = 1.f / (1.f + expf(-x));  // sigmoid\n"));
  EXPECT_FALSE(contains(code, "args.tensors"));
}

TEST(EpilogueEmitter, ModedOpsEmitTheirModesText) {
  const std::string code = emit_epilogue(parse_spec("linear(m=8, n=8, k=8) -> gelu -> gelu(tanh)"));
  EXPECT_TRUE(
      contains(code, "      x = 0.5f * x * (1.f + erff(x * 0.70710678118654752f));  // gelu\n"));
  EXPECT_TRUE(contains(code,
                       "      x = 0.5f * x * (1.f + tanhf(0.79788456080286536f * (x + 0.044715f * "
                       "x * x * x)));  // gelu(tanh)\n"));
}

TEST(EpilogueEmitter, RepeatedOperandsEachGetTheirOwnSlot) {
  const std::string code = emit_epilogue(
      parse_spec("linear(m=8, n=8, k=8) -> add(tensor) -> add(tensor) -> mul(3.0) -> mul(4.0)"));
  EXPECT_TRUE(contains(code, "args.tensors[2] + static_cast<long long>(m) * 8 + n"));
  EXPECT_TRUE(contains(code, "args.tensors[3] + static_cast<long long>(m) * 8 + n"));
  EXPECT_TRUE(contains(
      code, "      x = x + t2[j];  // add(tensor)\n      x = x + t3[j];  // add(tensor)\n"));
  EXPECT_TRUE(contains(code, "      x = x * s0;  // mul(3.0)\n      x = x * s1;  // mul(4.0)\n"));
}

TEST(EpilogueEmitter, NoOpsMeansAnApplyThatChangesNothing) {
  EXPECT_EQ(emit_epilogue(parse_spec("linear(m=64, n=64, k=64)")),
            "struct Epilogue {\n"
            "  const ft::LaunchArgs& args;\n"
            "\n"
            "  template <int W>\n"
            "  __device__ __forceinline__ void apply(float (&v)[W], [[maybe_unused]] int m, "
            "[[maybe_unused]] int n) const {\n"
            "  }\n"
            "};\n");
}

// ---- nothing from the spec's text but numbers and registry names ----

TEST(GemmSimtEmitter, SpecTextReachesTheSourceOnlyAsCanonicalNumbersInComments) {
  const Spec spec = parse_spec(
      "linear(k=64,m=64,n=64)->bias->mul(1e-5)->leaky_relu(negative_slope=0.000123)"
      "->softplus(beta=2.75e+0, threshold=1E1)->gelu(approximate=tanh)->hardtanh(max_val=7)");
  const std::string code = generate(spec, GemmSimtConfig{}).code;
  const std::string body = without_comments(code);
  // Scalars are kernel arguments: their values appear in no statement, in any spelling.
  for (const std::string value : {"1e-5", "1e-05", "0.000123", "2.75", "1E1", "10.0", "7.0"})
    EXPECT_FALSE(contains(body, value)) << value;
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(contains(body, fmt::format("args.scalars[{}]", i))) << i;
  EXPECT_FALSE(contains(body, "args.scalars[6]"));
  // The spec's own spelling (argument names, exponents) never appears; its canonical text does.
  for (const std::string text :
       {"negative_slope", "approximate", "beta", "threshold", "max_val", "2.75e+0", "E1", "k=64,"})
    EXPECT_FALSE(contains(code, text)) << text;
  const std::string comments = only_comments(code);
  EXPECT_TRUE(contains(comments, "// spec:   " + spec.canonical() + "\n"));
  EXPECT_TRUE(contains(comments, "// mul(1e-05)\n"));
  EXPECT_TRUE(contains(comments, "// leaky_relu(0.000123)\n"));
  EXPECT_TRUE(contains(comments, "// softplus(2.75, 10.0)\n"));
}

// ---- NVRTC accepts what the emitter writes ----

struct CompileCase {
  std::string what;
  std::string spec;
};

class CompilesWithNvrtc : public testing::TestWithParam<std::tuple<CompileCase, std::string>> {};

TEST_P(CompilesWithNvrtc, ForEachOperandKind) {
  const auto& [c, arch] = GetParam();
  const Spec spec = parse_spec(c.spec);
  const Candidate candidate = default_candidate(spec, limits_of(arch), Precision::fp32);
  const KernelSource source = generate(spec, candidate.config);
  const CompiledBinary binary = compile_to_cubin(source.code, source.name, arch);
  EXPECT_EQ(binary.arch, arch);
  EXPECT_GT(binary.registers, 0) << binary.log;
  ASSERT_GE(binary.cubin.size(), 4u);
  EXPECT_EQ(std::string(binary.cubin.data(), 4),
            "\x7f"
            "ELF");
  EXPECT_TRUE(contains(binary.log, source.name)) << binary.log;
}

// Shapes with N % 4 == 0 use the 4-wide epilogue, the others the 1-wide one.
const CompileCase kCompileCases[] = {
    {"scalar", "linear(m=64, n=64, k=32) -> mul(2.0) -> add(-1.0)"},
    {"column", "linear(m=96, n=100, k=40) -> bias -> sub(column)"},
    {"row", "matmul(m=100, n=37, k=24, transpose_a=true) -> add(row)"},
    {"tensor", "matmul(m=64, n=999, k=16, transpose_b=true) -> mul(tensor)"},
    {"unary",
     "linear(m=128, n=128, k=64) -> leaky_relu(0.1) -> clamp(-1.0, 1.0) -> gelu(tanh) -> "
     "softplus(2.0, 20.0) -> hardswish -> mish -> silu -> tanh"},
};

INSTANTIATE_TEST_SUITE_P(OperandKinds, CompilesWithNvrtc,
                         testing::Combine(testing::ValuesIn(kCompileCases),
                                          testing::Values("sm_80", "sm_90")),
                         [](const auto& info) {
                           return std::get<0>(info.param).what + "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace fusetune
