#include "generator/spec.h"

#include <fmt/format.h>

#include <map>

#include "fusetune/status.h"
#include "generator/ops.h"
#include "generator/spec_parser.h"

namespace fusetune {
namespace {

const EpilogueOpInfo& info_of(const EpilogueOp& op) {
  const EpilogueOpInfo* info = find_epilogue_op(op.name);
  if (info == nullptr) throw Error(StatusCode::internal, "no epilogue op named '" + op.name + "'");
  return *info;
}

std::string_view operand_keyword(OperandKind kind) {
  switch (kind) {
    case OperandKind::column:
      return "column";
    case OperandKind::row:
      return "row";
    case OperandKind::tensor:
      return "tensor";
    case OperandKind::none:
    case OperandKind::scalar:
      break;
  }
  return "";
}

// The arguments of one epilogue op as canonical text, "" when it is written bare.
std::string print_arguments(const EpilogueOp& op, bool elide_scalars) {
  const EpilogueOpInfo& info = info_of(op);
  auto number = [&](double value) {
    return elide_scalars ? std::string("_") : canonical_number(value);
  };
  if (info.fixed_operand != OperandKind::none) return "";
  if (info.binary) {
    if (op.operand == OperandKind::scalar) return fmt::format("({})", number(op.scalars.at(0)));
    return fmt::format("({})", operand_keyword(op.operand));
  }
  std::vector<std::string> arguments;
  if (op.mode != 0) arguments.emplace_back(info.modes.at(op.mode));
  for (double value : op.scalars) arguments.push_back(number(value));
  if (arguments.empty()) return "";
  return fmt::format("({})", fmt::join(arguments, ", "));
}

std::string print(const Spec& spec, bool elide_scalars) {
  const MainOp& main = spec.main;
  std::string text =
      fmt::format("{}(m={}, n={}, k={}", main.kind == MainOpKind::linear ? "linear" : "matmul",
                  main.m, main.n, main.k);
  if (main.transpose_a) text += ", transpose_a=true";
  if (main.transpose_b) text += ", transpose_b=true";
  if (main.dtype != DataType::fp32) text += fmt::format(", dtype={}", to_string(main.dtype));
  if (main.output_dtype() != main.dtype) text += ", out_dtype=fp32";
  text += ")";
  for (const EpilogueOp& op : spec.epilogue) {
    text += fmt::format(" -> {}{}", op.name, print_arguments(op, elide_scalars));
  }
  return text;
}

// `name`, or `name` with "_2", "_3", ... when it has been handed out before.
std::string unique_name(std::map<std::string, int>& seen, const std::string& name) {
  const int count = ++seen[name];
  return count == 1 ? name : fmt::format("{}_{}", name, count);
}

}  // namespace

bool MainOp::a_k_contiguous() const { return kind == MainOpKind::linear || !transpose_a; }

bool MainOp::b_k_contiguous() const { return kind == MainOpKind::linear || transpose_b; }

std::string Spec::canonical() const { return print(*this, false); }

std::string Spec::signature() const { return print(*this, true); }

std::vector<TensorArg> Spec::tensors() const {
  const std::int64_t m = main.m, n = main.n, k = main.k;
  std::vector<TensorArg> tensors;
  if (main.kind == MainOpKind::linear) {
    tensors.push_back({"x", {m, k}});
    tensors.push_back({"weight", {n, k}});
  } else {
    tensors.push_back({"a", main.transpose_a ? std::vector{k, m} : std::vector{m, k}});
    tensors.push_back({"b", main.transpose_b ? std::vector{n, k} : std::vector{k, n}});
  }
  std::map<std::string, int> seen;
  for (const EpilogueOp& op : epilogue) {
    if (op.operand == OperandKind::none || op.operand == OperandKind::scalar) continue;
    const bool fixed = info_of(op).fixed_operand != OperandKind::none;
    const std::string base =
        fixed ? op.name : fmt::format("{}_{}", op.name, operand_keyword(op.operand));
    std::vector<std::int64_t> shape;
    switch (op.operand) {
      case OperandKind::column:
        shape = {n};
        break;
      case OperandKind::row:
        shape = {m};
        break;
      default:
        shape = {m, n};
        break;
    }
    tensors.push_back({unique_name(seen, base), std::move(shape)});
  }
  for (TensorArg& tensor : tensors) tensor.dtype = main.dtype;
  return tensors;
}

std::vector<ScalarArg> Spec::scalars() const {
  std::vector<ScalarArg> scalars;
  std::map<std::string, int> seen;
  for (const EpilogueOp& op : epilogue) {
    const EpilogueOpInfo& info = info_of(op);
    for (std::size_t i = 0; i < op.scalars.size(); ++i) {
      const std::string_view param = info.binary ? "value" : info.params.at(i).name;
      scalars.push_back({unique_name(seen, fmt::format("{}.{}", op.name, param)), op.scalars[i]});
    }
  }
  return scalars;
}

std::vector<std::int64_t> Spec::output_shape() const { return {main.m, main.n}; }

double Spec::flops() const {
  return 2.0 * static_cast<double>(main.m) * static_cast<double>(main.n) *
         static_cast<double>(main.k);
}

}  // namespace fusetune
