// The int8x family against the fp64 reference, on the GPU (sm_90): for each problem every
// configuration of its space and the default, launched as the plan the runtime launches (the two
// slicing passes, then the product with the chain in its epilogue), twice on fresh random inputs
// with the output poisoned first, within int8x's tolerance (1e-5). The problems are odd on
// purpose: sizes that divide no tile, K that fills no 16-byte digit row, one row, a residual
// read at the output's index, a matmul whose weight is stored [N, K], and operands stored the
// other way (B [K, N], A [K, M]: sliced by columns, read as stored by the fp32 fallback).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "tests/gpu_test.h"
#include "tests/templates/candidate_check.h"

namespace fusetune {
namespace {

class Int8xFamilyTest : public ::testing::TestWithParam<const char*> {};

TEST_P(Int8xFamilyTest, EveryConfigurationMatchesTheFp64Reference) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  if (device.limits.arch != "sm_90") GTEST_SKIP() << "int8x runs on sm_90";
  const Spec spec = parse_spec(GetParam());
  std::vector<Candidate> candidates = search_space(spec, device.limits, Precision::int8x);
  ASSERT_FALSE(candidates.empty());
  candidates.push_back(default_candidate(spec, device.limits, Precision::int8x));
  expect_candidates_match_reference(spec, Precision::int8x, candidates, device);
}

INSTANTIATE_TEST_SUITE_P(
    OddShapes, Int8xFamilyTest,
    ::testing::Values("linear(m=100, n=75, k=1001) -> bias -> relu",
                      "linear(m=1, n=16, k=16) -> mul(2.0)",
                      "linear(m=257, n=200, k=4096) -> add(tensor) -> gelu",
                      "matmul(m=130, n=64, k=300, transpose_b=true) -> add(row) -> sigmoid",
                      "matmul(m=100, n=76, k=1001) -> bias -> relu",
                      "matmul(m=36, n=200, k=130, transpose_a=true) -> tanh"));

}  // namespace
}  // namespace fusetune
