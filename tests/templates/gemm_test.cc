// The GEMM templates against the fp64 reference, on the GPU: for each problem and precision, a
// subset of its search space in which every value of every tunable appears, on shapes that are
// and are not tile multiples, for every operand layout and every kind of epilogue operand. Each
// precision is held to its default tolerance (1e-5 for fp32 and 3xTF32, 5e-4 for TF32; for
// bf16/fp16 inputs what their output type allows). On an sm_90 device the warpgroup-MMA family
// is in the tensor-core spaces and so covered too. The matrix-vector family (fp32, M <= 16) is
// in the fp32 spaces of small-M shapes, and GemvTest runs every one of its candidates.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "tests/gpu_test.h"
#include "tests/templates/candidate_check.h"

namespace fusetune {
namespace {

class GemmTest : public ::testing::TestWithParam<std::tuple<const char*, Precision>> {};

TEST_P(GemmTest, EveryVariantFamilyMatchesTheFp64Reference) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  const auto& [text, precision] = GetParam();
  const Spec spec = parse_spec(text);
  std::vector<Candidate> candidates = covering_subset(search_space(spec, device.limits, precision));
  candidates.push_back(default_candidate(spec, device.limits, precision));
  expect_candidates_match_reference(spec, precision, candidates, device);
}

// Every candidate of the matrix-vector family, not a covering subset: its spaces are small.
class GemvTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GemvTest, EveryCandidateMatchesTheFp64ReferenceTwice) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  const Spec spec = parse_spec(GetParam());
  std::vector<Candidate> candidates;
  for (Candidate& c : search_space(spec, device.limits, Precision::fp32))
    if (std::holds_alternative<GemvSimtConfig>(c.config)) candidates.push_back(std::move(c));
  ASSERT_GE(candidates.size(), 10u) << "the family offers too few candidates to be tested";
  expect_candidates_match_reference(spec, Precision::fp32, candidates, device);
}

INSTANTIATE_TEST_SUITE_P(
    SmallM, GemvTest,
    ::testing::Values(
        // W[N,K] streamed by rows. The sweep's shapes: split-K (64 tiles of 16 columns), and
        // 512 tiles that need none.
        "linear(m=1, n=1024, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)",
        "linear(m=1, n=8192, k=4096) -> bias -> relu",
        // Edges: N and K divide nothing, K odd (4-byte loads), M odd in one tile or two.
        "linear(m=3, n=999, k=77) -> add(tensor) -> mul(row) -> sub(column) -> gelu(tanh)",
        "linear(m=1, n=37, k=5) -> add(1.5) -> relu",
        // 16 rows: x in chunks of 1024 k, K not a multiple of 4 (8-byte loads) or of the step.
        "linear(m=16, n=520, k=1030) -> bias -> relu", "linear(m=16, n=64, k=4100) -> add(row)",
        // A long K: several chunks of x per block, with and without split-K.
        "linear(m=7, n=64, k=20000) -> bias", "linear(m=2, n=4096, k=1024) -> silu",
        // B[N,K] of a matmul, x stored [K,M], N odd (scalar epilogue and stores).
        "matmul(m=16, n=257, k=64, transpose_a=true, transpose_b=true) -> sigmoid",
        // B[K,N] walked by columns: split-K, x stored [K,M], N even but not a multiple of 4
        // (8-byte loads), N and K odd (4-byte loads), a long K.
        "matmul(m=1, n=1024, k=4096) -> bias -> tanh",
        "matmul(m=5, n=998, k=300, transpose_a=true) -> add(row) -> silu",
        "matmul(m=4, n=1001, k=999) -> hardswish",
        "matmul(m=2, n=130, k=5000, transpose_a=true) -> relu"));

INSTANTIATE_TEST_SUITE_P(
    ShapesAndPrecisions, GemmTest,
    ::testing::Combine(
        ::testing::Values(
            // Tile multiples, every operand layout.
            "linear(m=512, n=512, k=256) -> bias -> mul(2.0) -> leaky_relu(0.1)",
            "matmul(m=256, n=512, k=128) -> relu",
            "matmul(m=256, n=256, k=128, transpose_a=true) -> silu",
            "matmul(m=256, n=256, k=64, transpose_a=true, transpose_b=true) -> sigmoid",
            // Shapes that divide no tile: every edge guarded.
            "linear(m=1000, n=999, k=77) -> add(tensor) -> mul(row) -> sub(column) -> "
            "gelu(tanh) -> clamp(-0.5, 0.5)",
            "matmul(m=129, n=65, k=33) -> div(3.0) -> gelu -> hardswish -> min(0.5)",
            "matmul(m=97, n=130, k=21, transpose_a=true) -> max(-0.5) -> mish -> tanh",
            "matmul(m=66, n=63, k=9, transpose_b=true) -> softplus(2.0, 10.0) -> "
            "hardtanh(-0.25, 0.25)",
            // Degenerate: one row, one column of k.
            "linear(m=1, n=37, k=5) -> add(1.5) -> relu", "linear(m=3, n=5, k=1)",
            // Warpgroup MMA (sm_90) needs K-contiguous operands and K a multiple of 4: odd M
            // and N, K not a multiple of the 32-deep stage, and one row.
            "linear(m=1000, n=999, k=76) -> add(tensor) -> mul(row) -> sub(column) -> gelu",
            "matmul(m=130, n=200, k=100, transpose_b=true) -> relu",
            "linear(m=1, n=300, k=260) -> bias -> tanh",
            // Few tiles and a long K: split-K, with K not a multiple of the stage either.
            "linear(m=37, n=200, k=3004) -> bias -> add(tensor) -> gelu",
            // fp32 operands stored the other way, written K-major by the warpgroup family's
            // helper warps: B [K, N] beside A by TMA, and both, K odd; edges on every side.
            "matmul(m=100, n=132, k=36) -> relu",
            "matmul(m=100, n=132, k=37, transpose_a=true) -> bias -> tanh"),
        ::testing::Values(Precision::fp32, Precision::tf32, Precision::tf32x3)));

// 16-bit inputs: K a multiple of 8 lets TMA (warpgroup MMA) read them; mma.sync needs K even.
INSTANTIATE_TEST_SUITE_P(
    Bf16, GemmTest,
    ::testing::Combine(
        ::testing::Values(
            "linear(m=512, n=512, k=256, dtype=bf16) -> bias -> mul(2.0) -> leaky_relu(0.1)",
            "linear(m=1000, n=999, k=88, dtype=bf16) -> add(tensor) -> mul(row) -> sub(column) "
            "-> gelu",
            "matmul(m=130, n=200, k=104, transpose_b=true, dtype=bf16) -> relu",
            "matmul(m=98, n=130, k=22, transpose_a=true, dtype=bf16) -> silu",
            "linear(m=1, n=300, k=264, dtype=bf16) -> bias -> tanh",
            "linear(m=37, n=200, k=3000, dtype=bf16, out_dtype=fp32) -> bias -> add(tensor) -> "
            "gelu"),
        ::testing::Values(Precision::bf16)));

INSTANTIATE_TEST_SUITE_P(
    Fp16, GemmTest,
    ::testing::Combine(
        ::testing::Values(
            "linear(m=512, n=512, k=256, dtype=fp16) -> bias -> mul(2.0) -> leaky_relu(0.1)",
            "linear(m=1000, n=999, k=88, dtype=fp16, out_dtype=fp32) -> add(tensor) -> mul(row) "
            "-> gelu",
            "matmul(m=98, n=130, k=22, transpose_a=true, transpose_b=true, dtype=fp16) -> silu",
            "linear(m=37, n=200, k=3000, dtype=fp16) -> bias -> gelu"),
        ::testing::Values(Precision::fp16)));

}  // namespace
}  // namespace fusetune
