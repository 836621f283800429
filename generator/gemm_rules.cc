#include "generator/gemm_rules.h"

#include <fmt/format.h>

#include <array>
#include <string_view>

namespace fusetune {
namespace {

struct Extent {
  std::string_view name;  // the main op's argument: "m", "n" or "k"
  std::int64_t value;
};

struct Matrix {
  std::string_view name;  // as the chain IR names it: "x", "weight", "a", "b", "output"
  Extent rows;
  Extent cols;
};

// The operands and the output with their stored shapes (start_chain in chain_ir.cc).
std::array<Matrix, 3> matrices(const MainOp& main) {
  const Extent m{"m", main.m}, n{"n", main.n}, k{"k", main.k};
  if (main.kind == MainOpKind::linear) return {{{"x", m, k}, {"weight", n, k}, {"output", m, n}}};
  return {{{"a", main.transpose_a ? k : m, main.transpose_a ? m : k},
           {"b", main.transpose_b ? n : k, main.transpose_b ? k : n},
           {"output", m, n}}};
}

}  // namespace

std::optional<MainOpProblem> gemm_problem(const MainOp& main) {
  const std::string_view op = main_op_name(main.kind);
  for (const Extent& e : {Extent{"m", main.m}, Extent{"n", main.n}, Extent{"k", main.k}})
    if (e.value > kMaxGemmExtent)
      return MainOpProblem{
          fmt::format("{}={} is too large: a GEMM's m, n and k are at most {} (2^30), which "
                      "leaves the kernels room to round them up to whole tiles in 32-bit integers",
                      e.name, e.value, kMaxGemmExtent),
          std::string(e.name)};
  for (const Matrix& t : matrices(main)) {
    const std::int64_t elements = t.rows.value * t.cols.value;  // < 2^60: no overflow
    if (elements > kMaxTensorElements)
      return MainOpProblem{
          fmt::format("{}'s {} [{}, {}] would have {} elements; kernels index tensors of up to {} "
                      "(2^31 - 1)",
                      op, t.name, t.rows.value, t.cols.value, elements, kMaxTensorElements),
          std::string(t.rows.value >= t.cols.value ? t.rows.name : t.cols.name)};
  }
  return std::nullopt;
}

}  // namespace fusetune
