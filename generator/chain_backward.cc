#include "generator/chain_backward.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "fusetune/status.h"
#include "generator/chain_ir.h"
#include "generator/ops.h"
#include "generator/reductions.h"

namespace fusetune {
namespace {

[[noreturn]] void no_backward(const std::string& what) {
  throw Error(StatusCode::invalid_argument, "no fused backward for " + what + " yet");
}

Spec matmul(const MainOp& forward, std::int64_t m, std::int64_t n, std::int64_t k, bool transpose_a,
            bool transpose_b) {
  Spec spec;
  spec.main = {.kind = MainOpKind::matmul,
               .m = m,
               .n = n,
               .k = k,
               .transpose_a = transpose_a,
               .transpose_b = transpose_b,
               .dtype = forward.dtype};
  return spec;
}

// A convolution's data gradient: the convolution that runs the other way over g' with the same
// weight, whose layout the other direction reads as it is ([C, K/groups, kernel...] for a
// transposed convolution is [K', C'/groups, kernel...] for the plain one, and the reverse).
Spec data_gradient(const MainOp& f) {
  const ConvGeometry& c = f.conv;
  const std::array<std::int64_t, 3> out = f.conv_output_size();
  Spec spec;
  spec.main.dtype = f.dtype;
  ConvGeometry& g = spec.main.conv;
  g = c;
  g.in_channels = c.out_channels;
  g.out_channels = c.in_channels;
  g.size = out;
  g.output_padding = {0, 0, 0};
  const bool three = f.spatial_dims() == 3;
  if (f.is_transposed_conv()) {
    spec.main.kind = three ? MainOpKind::conv3d : MainOpKind::conv2d;
    return spec;
  }
  spec.main.kind = three ? MainOpKind::conv_transpose3d : MainOpKind::conv_transpose2d;
  // The sizes the plain convolution's floor dropped come back as output padding.
  for (int d = 0; d < 3; ++d) {
    const std::int64_t reach = (out[d] - 1) * c.stride[d] - 2 * c.padding[d] +
                               std::int64_t{c.dilation[d]} * (c.kernel[d] - 1) + 1;
    g.output_padding[d] = static_cast<int>(c.size[d] - reach);
  }
  return spec;
}

// `product` (a matmul) with both operands k-contiguous: a [M, K] and b [N, K],
// through transposed copies of those stored the other way; nullopt where they already are, or
// for 16-bit data (whose wgmma reads either layout).
std::optional<Product> k_major(const Product& product) {
  const MainOp& m = product.spec.main;
  if (m.dtype != DataType::fp32 || (!m.transpose_a && m.transpose_b)) return std::nullopt;
  Product p = product;
  p.spec.main.transpose_a = false;
  p.spec.main.transpose_b = true;
  if (m.transpose_a) p.operands[0] += "_t";
  if (!m.transpose_b) p.operands[1] += "_t";
  return p;
}

// A reduction the backward takes: one whose backward the registry writes. On a GEMM's value [M, N]:
// over its features (dim=1, or layer_norm's normalized_shape [N]), over groups of them
// (group_norm), or over its rows (batch_norm in training mode, BatchNorm1d). On a convolution's [N,
// C, ...]: over its channels (dim=1), groups of channels with their positions (group_norm), each
// channel's positions (instance_norm), or each channel over the batch (batch_norm in training
// mode).
void check_held_reduction(const Spec& spec, const ReductionOp& op) {
  const ReductionOpInfo& info = info_of(op);
  if (info.backward.empty()) no_backward(op.name);
  const bool conv = spec.main.is_conv();
  switch (info.group_by) {
    case GroupBy::trailing:
      if (conv || op.normalized_shape != std::vector<std::int64_t>{spec.main.n})
        no_backward(op.name + " over other than a linear or matmul's features");
      break;
    case GroupBy::dims:
      if (op.dims != std::vector<int>{1})
        no_backward(op.name + " other than over the features or channels (dim=1)");
      break;
    case GroupBy::positions:  // a convolution's only: the spec refuses it after a GEMM
    case GroupBy::channel_groups:
      break;
    case GroupBy::channel:
      if (op.track_running && !op.training) no_backward("batch_norm in eval mode");
      break;
  }
}

}  // namespace

void check_fused_backward(const Spec& spec) {
  if (spec.main.is_row_range())
    no_backward("a row range: plan it at the rows of the call (m=" +
                std::to_string(spec.main.m_min) + ".." + std::to_string(spec.main.m) + ")");
  const char* middle = nullptr;  // "a pool step" or "a reduction", once one has come
  for (std::size_t k = 0; k < spec.chain.size(); ++k) {
    const ChainOp& op = spec.chain[k];
    if (const auto* pool = std::get_if<PoolOp>(&op)) {
      if (middle) no_backward(fmt::format("a pool step after {}", middle));
      if (pool->kind == PoolKind::global_avg) no_backward("global_avg_pool");
      middle = "a pool step";
      continue;
    }
    if (const auto* r = std::get_if<ReductionOp>(&op)) {
      if (middle) no_backward(fmt::format("{} after {}", r->name, middle));
      check_held_reduction(spec, *r);
      middle = "a reduction";
      continue;
    }
    const EpilogueOp& e = std::get<EpilogueOp>(op);
    if (e.operand == OperandKind::main) no_backward(e.name + "(main)");
    if (info_of(e).writes_operand)
      throw Error(StatusCode::invalid_argument,
                  "plan the backward of the spec without save: its saving forward adds one");
    const bool reads = e.operand != OperandKind::none && e.operand != OperandKind::scalar;
    if (middle && reads)
      no_backward(fmt::format("{}({}) after {}", e.name, operand_kind_name(e.operand), middle));
    // Before a reduction, the kernel that holds the groups writes g' and tensor operands'
    // gradients; a column or row sum reads g' back, which only a leading bias's is.
    const bool summed = e.operand == OperandKind::column || e.operand == OperandKind::row;
    if (summed && k > 0 &&
        std::any_of(
            spec.chain.begin() + static_cast<std::ptrdiff_t>(k), spec.chain.end(),
            [](const ChainOp& later) { return std::holds_alternative<ReductionOp>(later); }))
      no_backward(fmt::format("{}({}) before a reduction (other than a leading bias)", e.name,
                              operand_kind_name(e.operand)));
  }
}

std::size_t chain_operand_count(const Spec& spec) { return spec.tensors().size() - 2; }

std::vector<TensorArg> chain_derivative_tensors(const Spec& spec) {
  check_fused_backward(spec);
  const std::vector<TensorArg> forward = spec.tensors();
  std::vector<TensorArg> tensors = {
      {.name = "grad", .shape = spec.output_shape(), .dtype = spec.main.output_dtype()},
      {.name = "saved", .shape = compile_chain(spec).main_shape, .dtype = spec.main.dtype}};
  tensors.insert(tensors.end(), forward.begin() + 2, forward.end());
  for (auto t = forward.begin() + 2; t != forward.end(); ++t)
    tensors.push_back(
        {.name = "grad_" + t->name, .shape = t->shape, .dtype = t->dtype, .updated = true});
  return tensors;
}

BackwardPlan plan_backward(const Spec& spec) {
  check_fused_backward(spec);
  const MainOp& f = spec.main;
  BackwardPlan plan;
  plan.saving = spec;
  plan.saving.chain.insert(
      plan.saving.chain.begin(),
      EpilogueOp{.name = "save", .operand = OperandKind::tensor, .scalars = {}, .mode = 0});
  if (f.is_conv()) {
    plan.grad_a = {data_gradient(f), {"grad_main", "b"}};
    plan.grad_b_missing = fmt::format(
        "no fused weight gradient for {} yet: take it from g' (e.g. PyTorch's "
        "convolution_backward)",
        main_op_name(f.kind));
    return plan;
  }
  // linear is a matmul whose b is stored [N, K].
  const bool ta = f.kind == MainOpKind::matmul && f.transpose_a;
  const bool tb = f.kind == MainOpKind::linear || f.transpose_b;
  // d a = g' · bᵀ, as a is stored: [M, K], or its transpose b · g'ᵀ as [K, M].
  if (!ta) {
    plan.grad_a = {matmul(f, f.m, f.k, f.n, false, !tb), {"grad_main", "b"}};
  } else {
    plan.grad_a = {matmul(f, f.k, f.m, f.n, tb, true), {"b", "grad_main"}};
  }
  // d b = aᵀ · g', as b is stored: [K, N], or its transpose g'ᵀ · a as [N, K].
  if (!tb) {
    plan.grad_b = {matmul(f, f.k, f.n, f.m, !ta, false), {"a", "grad_main"}};
  } else {
    plan.grad_b = {matmul(f, f.n, f.k, f.m, true, ta), {"grad_main", "a"}};
  }
  plan.grad_a_k_major = k_major(plan.grad_a);
  plan.grad_b_k_major = k_major(*plan.grad_b);
  return plan;
}

}  // namespace fusetune
