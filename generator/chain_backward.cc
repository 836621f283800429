#include "generator/chain_backward.h"

#include <fmt/format.h>

#include <array>

#include "fusetune/status.h"
#include "generator/chain_ir.h"
#include "generator/gather_split.h"
#include "generator/kernel_assembly.h"
#include "generator/ops.h"
#include "generator/template_text.h"
#include "generator/tile_grid.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

constexpr int kMaxLaunchTensors = 16;  // LaunchArgs::tensors

[[noreturn]] void no_backward(const std::string& what) {
  throw Error(StatusCode::invalid_argument, "no fused backward for " + what + " yet");
}

void check_backward(const Spec& spec) {
  if (spec.main.is_conv()) no_backward(std::string(main_op_name(spec.main.kind)));
  if (spec.main.is_row_range())
    no_backward("a row range: plan it at the rows of the call (m=" +
                std::to_string(spec.main.m_min) + ".." + std::to_string(spec.main.m) + ")");
  for (const ChainOp& op : spec.chain) {
    if (std::holds_alternative<PoolOp>(op)) no_backward("a pool step");
    if (const auto* r = std::get_if<ReductionOp>(&op)) no_backward(r->name);
    const EpilogueOp& e = std::get<EpilogueOp>(op);
    if (e.operand == OperandKind::main) no_backward(e.name + "(main)");
    if (info_of(e).writes_operand)
      throw Error(StatusCode::invalid_argument,
                  "plan the backward of the spec without save: its saving forward adds one");
  }
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

// A float literal for generated code.
std::string scalar(int index) { return fmt::format("args.scalars[{}]", index); }

// Tensor t at `index`, widened to fp32.
std::string load(int t, DataType type, const std::string& index) {
  if (type == DataType::fp32) return fmt::format("__ldg(args.tensors[{}] + {})", t, index);
  return fmt::format("ft::load_float({} + {})", tensor_pointer(t, type), index);
}

std::string store(int t, DataType type, const std::string& index, const std::string& value) {
  return fmt::format(
      "reinterpret_cast<{0}*>(const_cast<float*>(args.tensors[{1}]))[{2}] = "
      "ft::from_float<{0}>({3});",
      cuda_type(type), t, index, value);
}

// The chain's forward and backward at one element, as a device function of the kernels'
// shared struct: every op's input recomputed from the saved main result, then the gradient
// taken back through them, last op first, each operand's term noted on the way.
class DerivativeWriter {
 public:
  explicit DerivativeWriter(const Spec& spec)
      : spec_(spec), ir_(compile_chain(spec)), type_(spec.main.dtype) {}

  std::string gradient_function() const {
    const std::int64_t n = ir_.main_shape.at(1);
    std::string forward, backward;
    forward +=
        fmt::format("    [[maybe_unused]] const long long m = i / {0}LL, n = i % {0}LL;\n", n);
    forward += fmt::format("    const float x0 = {};\n", load(1, type_, "i"));
    for (std::size_t s = 0; s < ir_.stages.size(); ++s) {
      const Stage& stage = ir_.stages[s];
      const EpilogueOp& op = std::get<EpilogueOp>(stage.op);
      const EpilogueOpInfo& info = info_of(op);
      const Texts texts = texts_of(stage, op, info);
      forward += texts.declarations;
      forward += fmt::format("    const float x{} = {};  // {}\n", s + 1,
                             texts.apply(info.cuda.at(op.mode), s), op.name);
      std::string step = fmt::format("    // {}\n", op.name);
      if (stage.tensors.empty() == false) {
        const std::string dy(info.derivative.cuda_dy);
        step +=
            fmt::format("    terms[{}] = g * ({});\n", stage.tensors.at(0) - 2, texts.apply(dy, s));
      }
      step += fmt::format("    g *= {};\n", texts.apply(info.derivative.cuda.at(op.mode), s));
      backward = step + backward;
    }
    const std::size_t terms = std::max<std::size_t>(1, chain_operand_count(spec_));
    return fmt::format(
        "  // The gradient at element i of the main op's result (g'), and each operand's term\n"
        "  // there: d loss / d operand at i before any broadcast is summed.\n"
        "  __device__ __forceinline__ float gradient(long long i, float (&terms)[{0}]) const {{\n"
        "{1}    float g = {2};\n{3}    return g;\n  }}\n",
        terms, forward, load(0, spec_.main.output_dtype(), "i"), backward);
  }

 private:
  struct Texts {
    std::string declarations;
    std::string y;
    std::array<std::string, 2> params;

    // An op's (or its derivative's) CUDA text at stage s: input x{s}, output x{s + 1}.
    std::string apply(std::string_view text, std::size_t s) const {
      return fmt::format(fmt::runtime(text), fmt::arg("x", fmt::format("x{}", s)),
                         fmt::arg("o", fmt::format("x{}", s + 1)), fmt::arg("y", y),
                         fmt::arg("p0", params[0]), fmt::arg("p1", params[1]));
    }
  };

  Texts texts_of(const Stage& stage, const EpilogueOp& op, const EpilogueOpInfo& info) const {
    Texts texts;
    std::size_t scalars = 0;
    const std::string y = fmt::format("y{}", &stage - ir_.stages.data());
    switch (op.operand) {
      case OperandKind::scalar:
        texts.y = scalar(stage.scalars.at(scalars++));
        break;
      case OperandKind::column:
        texts.y = y;
        texts.declarations =
            fmt::format("    const float {} = {};\n", y, load(stage.tensors.at(0), type_, "n"));
        break;
      case OperandKind::row:
        texts.y = y;
        texts.declarations =
            fmt::format("    const float {} = {};\n", y, load(stage.tensors.at(0), type_, "m"));
        break;
      case OperandKind::tensor:
        texts.y = y;
        texts.declarations =
            fmt::format("    const float {} = {};\n", y, load(stage.tensors.at(0), type_, "i"));
        break;
      default:
        break;
    }
    for (std::size_t p = 0; p < info.params.size(); ++p)
      texts.params.at(p) = scalar(stage.scalars.at(scalars++));
    return texts;
  }

  const Spec& spec_;
  ChainIR ir_;
  DataType type_;
};

// A summing step for operand j's gradient: a column summed over the rows, a row over the
// columns, through gather_statistics (templates/finishing.cuh) with SumStat.
struct OperandSum {
  int operand = 0;  // j: the spec's tensor 2 + j
  OperandKind kind = OperandKind::column;
  // The chain's first op adds the operand (bias, add): its gradient term is g' itself, which
  // the sum reads back from the main kernel's output instead of recomputing the chain.
  bool reads_g_prime = false;
};

// d out / d x = d out / d y = 1: the op adds its operand.
bool adds(const EpilogueOp& op) {
  const OpDerivative& d = info_of(op).derivative;
  return d.cuda.at(op.mode) == "1.f" && d.cuda_dy == "1.f";
}

}  // namespace

std::size_t chain_operand_count(const Spec& spec) { return spec.tensors().size() - 2; }

std::vector<TensorArg> chain_derivative_tensors(const Spec& spec) {
  check_backward(spec);
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
  check_backward(spec);
  const MainOp& f = spec.main;
  BackwardPlan plan;
  plan.saving = spec;
  plan.saving.chain.insert(
      plan.saving.chain.begin(),
      EpilogueOp{.name = "save", .operand = OperandKind::tensor, .scalars = {}, .mode = 0});
  // linear is a matmul whose b is stored [N, K].
  const bool ta = f.kind == MainOpKind::matmul && f.transpose_a;
  const bool tb = f.kind == MainOpKind::linear || f.transpose_b;
  // d a = g' · bᵀ, as a is stored: [M, K], or its transpose b · g'ᵀ as [K, M].
  if (!ta) {
    plan.grad_a = matmul(f, f.m, f.k, f.n, false, !tb);
    plan.grad_a_operands = {"grad_main", "b"};
  } else {
    plan.grad_a = matmul(f, f.k, f.m, f.n, tb, true);
    plan.grad_a_operands = {"b", "grad_main"};
  }
  // d b = aᵀ · g', as b is stored: [K, N], or its transpose g'ᵀ · a as [N, K].
  if (!tb) {
    plan.grad_b = matmul(f, f.k, f.n, f.m, !ta, false);
    plan.grad_b_operands = {"a", "grad_main"};
  } else {
    plan.grad_b = matmul(f, f.n, f.k, f.m, true, ta);
    plan.grad_b_operands = {"grad_main", "a"};
  }
  return plan;
}

KernelSource emit_chain_derivative(const Spec& spec) {
  check_backward(spec);
  const std::size_t operands = chain_operand_count(spec);
  if (2 + 2 * operands > static_cast<std::size_t>(kMaxLaunchTensors))
    throw Error(StatusCode::invalid_argument,
                fmt::format("the backward of a chain with {} operand tensors takes {} tensors, "
                            "more than the {} a launch takes",
                            operands, 2 + 2 * operands, kMaxLaunchTensors));
  const ChainIR ir = compile_chain(spec);
  const std::int64_t m = ir.main_shape.at(0), n = ir.main_shape.at(1);
  const DataType type = spec.main.dtype;
  const std::string type_name(cuda_type(type));
  std::vector<OperandSum> sums;
  std::string tensor_writes;
  for (const Stage& stage : ir.stages) {
    const EpilogueOp& op = std::get<EpilogueOp>(stage.op);
    if (stage.tensors.empty()) continue;
    const int j = stage.tensors.at(0) - 2;
    if (op.operand == OperandKind::tensor)
      tensor_writes +=
          "  " + store(2 + static_cast<int>(operands) + j, type, "i", fmt::format("terms[{}]", j)) +
          "\n";
    else
      sums.push_back({j, op.operand, &stage == &ir.stages.front() && adds(op)});
  }

  KernelSource kernel;
  kernel.name = fmt::format("ft_chain_backward_{}x{}", m, n);
  const std::int64_t count = m * n;
  constexpr int kThreads = 256;
  kernel.launch.grid = launch_grid((count + kThreads - 1) / kThreads);
  kernel.launch.block = {kThreads, 1, 1};
  const DerivativeWriter writer(spec);
  std::string steps, entries;
  std::uint64_t workspace = 0;
  for (const OperandSum& sum : sums) {
    const bool column = sum.kind == OperandKind::column;
    // A column's values are a column of the value: N apart, neighbouring groups side by side.
    const GatherSplit split = column ? split_gather(n, m, false) : split_gather(m, n, true);
    const std::string index =
        column ? fmt::format("p * {}LL + g", n) : fmt::format("g * {}LL + p", n);
    const std::uint64_t partials = workspace;
    workspace += (4 * split.groups * split.splits + 255) / 256 * 256;
    const std::uint64_t counters = workspace;
    workspace += (4 * split.group_blocks + 255) / 256 * 256;
    const std::string entry = fmt::format("{}_sum{}", kernel.name, sum.operand);
    steps += fmt::format(
        "// The gradient of operand {0}, summed over the {1}.\n"
        "struct Sum{0} {{\n  Chain chain;\n  using Stat = ft::SumStat;\n"
        "  __device__ __forceinline__ float input(long long g, long long p) const {{\n{2}  }}\n"
        "  __device__ __forceinline__ void finish(long long g, const Stat& s) const {{\n"
        "    const ft::LaunchArgs& args = chain.args;\n    {3}\n  }}\n}};\n"
        "struct Sum{0}Config {{\n"
        "  static constexpr long long GROUPS = {4}, SIZE = {5}, CHUNK = {6};\n"
        "  static constexpr int THREADS = {7}, GROUP_THREADS = {8}, SPLITS = {9};\n}};\n\n",
        sum.operand, column ? "rows" : "columns",
        sum.reads_g_prime
            ? fmt::format(
                  "    return ft::to_float(reinterpret_cast<const {}*>(chain.args.out)[{}]);\n",
                  type_name, index)
            : fmt::format("    float terms[{}];\n    chain.gradient({}, terms);\n"
                          "    return terms[{}];\n",
                          std::max<std::size_t>(1, operands), index, sum.operand),
        store(2 + static_cast<int>(operands) + sum.operand, type, "g", "s.sum"), split.groups,
        split.size, split.chunk, kGatherThreads, split.group_threads, split.splits);
    entries += fmt::format(
        "extern \"C\" __global__ void __launch_bounds__({0})\n"
        "{1}(const __grid_constant__ ft::LaunchArgs args, float* __restrict__ workspace) {{\n"
        "  char* bytes = reinterpret_cast<char*>(workspace);\n"
        "  ft::gather_statistics<Sum{2}Config>(Sum{2}{{Chain{{args}}}}, "
        "reinterpret_cast<ft::SumStat*>(bytes + {3}), reinterpret_cast<unsigned*>(bytes + {4}));\n"
        "}}\n",
        kGatherThreads, entry, sum.operand, partials, counters);
    LaunchGeometry geometry;
    geometry.grid = launch_grid(split.group_blocks * split.splits);
    geometry.block = {kGatherThreads, 1, 1};
    kernel.finishing.steps.push_back({entry, geometry});
  }
  for (KernelStep& step : kernel.finishing.steps) step.launch.workspace_bytes = workspace;

  kernel.code = fmt::format("// fusetune backward of the chain of: {}\n\n", spec.canonical());
  kernel.code += inline_template("common.cuh", templates::common_cuh);
  if (!sums.empty()) {
    kernel.code += inline_template("statistics.cuh", templates::statistics_cuh);
    kernel.code += inline_template("finishing.cuh", templates::finishing_cuh);
  }
  kernel.code += fmt::format(
      "\nnamespace {{\n\nstruct Chain {{\n  const ft::LaunchArgs& args;\n\n{}}};\n\n{}}}  // "
      "namespace\n\n",
      writer.gradient_function(), steps);
  kernel.code += fmt::format(
      "// g' at every element, and the gradients of tensor operands.\n"
      "extern \"C\" __global__ void __launch_bounds__({0})\n"
      "{1}(const __grid_constant__ ft::LaunchArgs args) {{\n"
      "  const long long i = blockIdx.x * static_cast<long long>({0}) + threadIdx.x;\n"
      "  if (i >= {2}LL) return;\n"
      "  float terms[{3}];\n"
      "  const float g = Chain{{args}}.gradient(i, terms);\n"
      "  reinterpret_cast<{4}*>(args.out)[i] = ft::from_float<{4}>(g);\n"
      "{5}}}\n\n",
      kThreads, kernel.name, count, std::max<std::size_t>(1, operands), type_name, tensor_writes);
  kernel.code += entries;
  return kernel;
}

}  // namespace fusetune
