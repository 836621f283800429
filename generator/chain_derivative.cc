#include "generator/chain_derivative.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <optional>

#include "fusetune/status.h"
#include "generator/chain_backward.h"
#include "generator/chain_ir.h"
#include "generator/gather_split.h"
#include "generator/grouping_code.h"
#include "generator/kernel_assembly.h"
#include "generator/ops.h"
#include "generator/reductions.h"
#include "generator/spec_parser.h"
#include "generator/template_text.h"
#include "generator/tile_grid.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

constexpr int kMaxLaunchTensors = 16;  // LaunchArgs::tensors
constexpr int kThreads = 256;
// A group's backward statistic (SumStat or SumPairStat): at most two floats.
constexpr std::uint64_t kBackStatBytes = 8;

std::string scalar(int index) { return fmt::format("args.scalars[{}]", index); }

// The weight (and bias) tensors of an affine normalization's stage: after batch_norm's running
// statistics where it has them.
std::vector<int> affine_tensors(const Stage& stage) {
  const ReductionOp& op = std::get<ReductionOp>(stage.op);
  const std::ptrdiff_t first = op.name == "batch_norm" && op.track_running ? 2 : 0;
  return {stage.tensors.begin() + first, stage.tensors.end()};
}

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

// d out / d x = d out / d y = 1: the op adds its operand.
bool adds(const EpilogueOp& op) {
  const OpDerivative& d = info_of(op).derivative;
  return d.cuda.at(op.mode) == "1.f" && d.cuda_dy == "1.f";
}

// The chain split at its pool step, if any (check_fused_backward allows one).
struct Parts {
  std::vector<const Stage*> before, after;
  const Stage* middle = nullptr;     // the pool step or the reduction, if any
  const Stage* pool = nullptr;       // the middle stage where it is a pool step
  const Stage* reduction = nullptr;  // the middle stage where it is a reduction
};

Parts parts_of(const ChainIR& ir) {
  Parts parts;
  for (const Stage& stage : ir.stages) {
    if (std::holds_alternative<EpilogueOp>(stage.op)) {
      (parts.middle ? parts.after : parts.before).push_back(&stage);
      continue;
    }
    parts.middle = &stage;
    (std::holds_alternative<PoolOp>(stage.op) ? parts.pool : parts.reduction) = &stage;
  }
  return parts;
}

// A pool step's windows over one plane of its input, per axis d, h, w (a 2-d pool's d: one
// element, a window of 1).
struct PoolShape {
  PoolOp pool;
  std::array<std::int64_t, 3> in{1, 1, 1}, out{1, 1, 1};

  explicit PoolShape(const Stage& stage) : pool(std::get<PoolOp>(stage.op)) {
    const int dims = static_cast<int>(stage.in_shape.size()) - 2;
    std::copy(stage.in_shape.end() - dims, stage.in_shape.end(), in.end() - dims);
    std::copy(stage.out_shape.end() - dims, stage.out_shape.end(), out.end() - dims);
    if (dims == 2) {
      pool.kernel[0] = pool.stride[0] = 1;
      pool.padding[0] = 0;
    }
  }

  // Whether the windows tile the input: stride = window, no padding, each extent a multiple
  // of the window, so that every element lies in exactly one window.
  bool tiles() const {
    for (int d = 0; d < 3; ++d)
      if (pool.stride[d] != pool.kernel[d] || pool.padding[d] != 0 || in[d] % pool.kernel[d])
        return false;
    return true;
  }
};

// The weight and bias element of an affine normalization at element `i` of its value: the
// feature (dim 1 of a GEMM's [M, N]) or the channel (dim 1 of a convolution's [N, C, ...]).
std::string affine_index(const Stage& stage, const std::string& i) {
  const std::int64_t channels = stage.in_shape.at(1);
  const std::int64_t plane = element_count(stage.in_shape) / (stage.in_shape.at(0) * channels);
  if (plane == 1) return fmt::format("{} % {}LL", i, channels);
  return fmt::format("{} / {}LL % {}LL", i, plane, channels);
}

// Straight-line code for elementwise stages: each op's value x{s + 1} from x{s}, and the
// gradient taken back through them, each operand's term noted in terms[j].
class ElementwiseCode {
 public:
  // `prefix` names the values (x0, x1, ...), `gradient` the gradient's variable.
  ElementwiseCode(const ChainIR& ir, DataType type, std::string prefix, std::string gradient = "g")
      : ir_(ir), type_(type), prefix_(std::move(prefix)), gradient_(std::move(gradient)) {}

  // The stages' forward from `first` (the variable holding their input), declaring x{s + 1}
  // for each stage s; the operands read at element `i` (coordinates m, n or c in scope).
  std::string forward(const std::vector<const Stage*>& stages) const {
    std::string code;
    for (const Stage* stage : stages) {
      const std::size_t s = index(*stage);
      const Texts texts = texts_of(*stage);
      code += texts.declarations;
      code += fmt::format("    const float {} = {};  // {}\n", value(s + 1),
                          texts.apply(info_of(op(*stage)).cuda.at(op(*stage).mode), *this, s),
                          op(*stage).name);
    }
    return code;
  }

  // The gradient back through the stages, last first; operand terms into terms[j].
  std::string backward(const std::vector<const Stage*>& stages) const {
    std::string code;
    for (const Stage* stage : stages) {
      const std::size_t s = index(*stage);
      const Texts texts = texts_of(*stage);
      const OpDerivative& d = info_of(op(*stage)).derivative;
      std::string step = fmt::format("    // {}\n", op(*stage).name);
      if (!stage->tensors.empty())
        step += fmt::format("    terms[{}] = {} * ({});\n", stage->tensors.at(0) - 2, gradient_,
                            texts.apply(d.cuda_dy, *this, s));
      step += fmt::format("    {} *= {};\n", gradient_,
                          texts.apply(d.cuda.at(op(*stage).mode), *this, s));
      code = step + code;
    }
    return code;
  }

  std::string value(std::size_t s) const { return fmt::format("{}{}", prefix_, s); }

 private:
  struct Texts {
    std::string declarations;
    std::string y;
    std::array<std::string, 2> params;

    // An op's (or its derivative's) CUDA text at stage s: input x{s}, output x{s + 1}.
    std::string apply(std::string_view text, const ElementwiseCode& code, std::size_t s) const {
      return fmt::format(fmt::runtime(text), fmt::arg("x", code.value(s)),
                         fmt::arg("o", code.value(s + 1)), fmt::arg("y", y),
                         fmt::arg("p0", params[0]), fmt::arg("p1", params[1]));
    }
  };

  static const EpilogueOp& op(const Stage& stage) { return std::get<EpilogueOp>(stage.op); }
  std::size_t index(const Stage& stage) const {
    return static_cast<std::size_t>(&stage - ir_.stages.data());
  }

  Texts texts_of(const Stage& stage) const {
    Texts texts;
    std::size_t scalars = 0;
    const std::string y = fmt::format("{}y{}", prefix_, index(stage));
    auto operand = [&](const char* at) {
      texts.y = y;
      texts.declarations =
          fmt::format("    const float {} = {};\n", y, load(stage.tensors.at(0), type_, at));
    };
    switch (op(stage).operand) {
      case OperandKind::scalar:
        texts.y = scalar(stage.scalars.at(scalars++));
        break;
      case OperandKind::column:
        operand("n");
        break;
      case OperandKind::row:
        operand("m");
        break;
      case OperandKind::channel:
        operand("c");
        break;
      case OperandKind::tensor:
        operand("i");
        break;
      default:
        break;
    }
    for (std::size_t p = 0; p < info_of(op(stage)).params.size(); ++p)
      texts.params.at(p) = scalar(stage.scalars.at(scalars++));
    return texts;
  }

  const ChainIR& ir_;
  DataType type_;
  std::string prefix_;
  std::string gradient_;
};

// The Chain struct's members: `gradient(i, terms)` and what it calls.
class DerivativeWriter {
 public:
  explicit DerivativeWriter(const Spec& spec)
      : spec_(spec), ir_(compile_chain(spec)), parts_(parts_of(ir_)), type_(spec.main.dtype) {}

  std::string members() const {
    std::string code;
    if (parts_.middle) code += middle_input();
    if (parts_.pool) code += pool_config_and_after_pool();
    const ElementwiseCode e(ir_, type_, "x");
    const std::size_t last = parts_.before.empty() ? 0 : index(*parts_.before.back()) + 1;
    // The gradient reaching the stages before the middle one: the output's, the pool's, or
    // the one the kernel holding a reduction's groups or a pool's windows passes in.
    std::string g = load(0, spec_.main.output_dtype(), "i");
    if (parts_.pool)
      g = fmt::format("ft::pooled_gradient<PoolConfig>(*this, i, {})", e.value(last));
    const bool passed_in = parts_.reduction || windowed();
    if (passed_in) g = "g_in";
    return code +
           fmt::format(
               "  // The gradient at element i of the main op's result (g'), and each "
               "operand's term\n  // there: d loss / d operand at i before any "
               "broadcast is summed.\n"
               "  __device__ __forceinline__ float gradient(long long i, {}float (&terms)[{}]) "
               "const {{\n{}    const float x0 = {};\n{}    float g = {};\n{}    return g;\n"
               "  }}\n",
               passed_in ? "float g_in, " : "",
               std::max<std::size_t>(1, chain_operand_count(spec_)), coordinates("i"),
               load(1, type_, "i"), e.forward(parts_.before), g, e.backward(parts_.before));
  }

  // For a reduction: the step that templates/held_group_backward.cuh runs, and its Config.
  // `terms`: where in the workspace an affine normalization's weight and bias terms go (two
  // arrays of the value's size), or nullopt.
  std::string held_step(const std::string& out_type, std::optional<std::uint64_t> terms) const {
    const Stage& stage = *parts_.reduction;
    const ReductionOp& op = std::get<ReductionOp>(stage.op);
    const ReductionOpInfo& info = info_of(op);
    const HeldLayout layout = held_layout();
    const std::int64_t n = layout.size;
    const bool reduces = info.kind == ReductionKind::reduce;
    std::array<std::string, 2> params;
    for (std::size_t p = 0; p < stage.scalars.size() && p < 2; ++p)
      params.at(p) = scalar(stage.scalars[p]);
    auto text = [&](std::string_view t) {
      return fmt::format(fmt::runtime(t), fmt::arg("x", "x"), fmt::arg("y", "y"),
                         fmt::arg("g", "gy"), fmt::arg("b", "b"), fmt::arg("s", "s"),
                         fmt::arg("n", canonical_number(static_cast<double>(n)) + "f"),
                         fmt::arg("p0", params[0]), fmt::arg("p1", params[1]));
    };
    const ElementwiseCode f(ir_, type_, "f", "g_o");
    std::string tensor_writes;
    const std::size_t operands = chain_operand_count(spec_);
    for (const Stage* before : parts_.before)
      if (std::get<EpilogueOp>(before->op).operand == OperandKind::tensor) {
        const int j = before->tensors.at(0) - 2;
        tensor_writes +=
            "    " +
            store(2 + static_cast<int>(operands) + j, type_, "i", fmt::format("terms[{}]", j)) +
            "\n";
      }
    // An affine normalization: the gradient before the weight, and the weight's and bias's
    // terms at each element, which Sum steps add up over the rows. The ops after it see the
    // normalized value y scaled and shifted by its feature's weight and bias.
    std::string weighted = "raw_upstream(y, g, i)", affine_terms;
    if (terms) {
      const std::vector<int> affine = affine_tensors(stage);
      const std::string feature = affine_index(stage, "i");
      const std::string weight = load(affine.at(0), type_, feature);
      std::string output = fmt::format("y * {}", weight);
      if (affine.size() > 1) output += " + " + load(affine.at(1), type_, feature);
      weighted = fmt::format("raw_upstream({}, g, i) * {}", output, weight);
      affine_terms = fmt::format(
          "    const float raw = raw_upstream({3}, {0}, i);\n"
          "    float* terms_at = reinterpret_cast<float*>(workspace + {1});\n"
          "    terms_at[i] = raw * y;\n    terms_at[{2}LL + i] = raw;\n",
          group_code(runs_of(stage.grouping)), *terms, element_count(stage.in_shape), output);
    }
    return fmt::format(
        "// The chain's backward through {0}, one group of the value held at a time.\n"
        "struct Held {{\n  Chain chain;\n  char* workspace;\n  using Stat = {1};\n"
        "  using BackStat = {18};\n"
        "  __device__ __forceinline__ long long index(long long g, long long p) const {{\n"
        "{21}  }}\n"
        "  __device__ __forceinline__ float value(long long g, long long p) const {{\n"
        "    return chain.middle_input(index(g, p));\n  }}\n"
        "  __device__ __forceinline__ float input(float x) const {{ return {3}; }}\n"
        "  __device__ __forceinline__ float result(float x, const Stat& s) const {{\n"
        "    [[maybe_unused]] const ft::LaunchArgs& args = chain.args;\n    return {4};\n  }}\n"
        "  // d loss / d the op's result at element i (of group g): back through the ops after "
        "it.\n"
        "  __device__ __forceinline__ float raw_upstream([[maybe_unused]] float {5}, "
        "[[maybe_unused]] long long g, [[maybe_unused]] long long i) const {{\n"
        "    const ft::LaunchArgs& args = chain.args;\n    [[maybe_unused]] float terms[1];\n"
        "{6}    float g_o = {7};\n{8}    return g_o;\n  }}\n"
        "  __device__ __forceinline__ float upstream(float y, long long g, long long i) const {{\n"
        "    [[maybe_unused]] const ft::LaunchArgs& args = chain.args;\n"
        "    return {19};\n  }}\n"
        "  __device__ __forceinline__ auto back_input([[maybe_unused]] float x, "
        "[[maybe_unused]] float y, [[maybe_unused]] float gy) const {{\n    return {9};\n  }}\n"
        "  __device__ __forceinline__ float gradient([[maybe_unused]] float x, "
        "[[maybe_unused]] float y, float gy, [[maybe_unused]] const Stat& s, "
        "[[maybe_unused]] const BackStat& b) const {{\n"
        "    [[maybe_unused]] const ft::LaunchArgs& args = chain.args;\n    return {10};\n  }}\n"
        "  __device__ __forceinline__ void finish(long long i, [[maybe_unused]] float y, "
        "float gx) const {{\n"
        "    const ft::LaunchArgs& args = chain.args;\n"
        "    float terms[{11}];\n    const float g = chain.gradient(i, gx, terms);\n"
        "    reinterpret_cast<{12}*>(args.out)[i] = ft::from_float<{12}>(g);\n{13}{20}  }}\n}};\n"
        "struct HeldConfig {{\n"
        "  static constexpr long long GROUPS = {14}, SIZE = {2};\n"
        "  static constexpr int THREADS = {15}, GROUP_THREADS = {16}, HELD = {17};\n}};\n\n",
        op.name, statistic_type(info.statistic), n, text(info.input), text(info.result),
        f.value(index(stage) + 1), f.forward(parts_.after),
        load(0, spec_.main.output_dtype(), reduces ? "g" : "i"), f.backward(parts_.after),
        info.backward_input.empty() ? std::string("0.f") : text(info.backward_input),
        text(info.backward), std::max<std::size_t>(1, operands), out_type, tensor_writes,
        layout.groups, kThreads, layout.group_threads,
        (layout.size + layout.group_threads - 1) / layout.group_threads, info.backward_statistic,
        weighted, affine_terms, layout.index);
  }

  // Whether the reduction is a normalization with a weight (and perhaps a bias).
  bool affine_normalization() const {
    if (!parts_.reduction) return false;
    const ReductionOp& op = std::get<ReductionOp>(parts_.reduction->op);
    return op.affine && info_of(op).affine != Affine::none;
  }

  // Whether one block's registers hold a group (templates/held_group_backward.cuh); else its
  // statistics are gathered over several blocks first (split_steps).
  bool holds_groups() const { return held_layout().size <= kMaxHeldRow; }

  // Groups larger than a block holds, in three launches over the Held step's parts: the
  // forward statistics of every group (gather_statistics), then its backward statistic, then
  // each element's gradient from both; `stats` and `back` are where the two lie in the
  // workspace.
  std::string split_steps(std::uint64_t stats, std::uint64_t back, const GatherSplit& split) const {
    const Grouping& grouping = parts_.reduction->grouping;
    return fmt::format(
        "// The reduction's groups, more than a block holds: their statistics gathered first.\n"
        "struct Statistics {{\n  Held held;\n  using Stat = Held::Stat;\n"
        "  __device__ __forceinline__ float input(long long g, long long p) const {{\n"
        "    return held.input(held.value(g, p));\n  }}\n"
        "  __device__ __forceinline__ void finish(long long g, const Stat& s) const {{\n"
        "    reinterpret_cast<Stat*>(held.workspace + {0})[g] = s;\n  }}\n}};\n"
        "struct BackStatistics {{\n  Held held;\n  using Stat = Held::BackStat;\n"
        "  __device__ __forceinline__ auto input(long long g, long long p) const {{\n"
        "    const Held::Stat s =\n"
        "        ft::load_from_l2(reinterpret_cast<const Held::Stat*>(held.workspace + {0}) + g);\n"
        "    const float x = held.value(g, p);\n    const float y = held.result(x, s);\n"
        "    return held.back_input(x, y, held.upstream(y, g, held.index(g, p)));\n  }}\n"
        "  __device__ __forceinline__ void finish(long long g, const Stat& b) const {{\n"
        "    reinterpret_cast<Stat*>(held.workspace + {1})[g] = b;\n  }}\n}};\n"
        "struct SplitConfig {{\n"
        "  static constexpr long long GROUPS = {2}, SIZE = {3}, CHUNK = {4};\n"
        "  static constexpr int THREADS = {5}, GROUP_THREADS = {6}, SPLITS = {7};\n}};\n\n"
        "// g' at element i from its group's statistics.\n"
        "__device__ __forceinline__ void split_gradient(const Held& held, long long i) {{\n"
        "  const long long g = {8};\n"
        "  const Held::Stat s =\n"
        "      ft::load_from_l2(reinterpret_cast<const Held::Stat*>(held.workspace + {0}) + g);\n"
        "  const Held::BackStat b =\n"
        "      ft::load_from_l2(reinterpret_cast<const Held::BackStat*>(held.workspace + {1}) + "
        "g);\n"
        "  const float x = held.chain.middle_input(i);\n  const float y = held.result(x, s);\n"
        "  const float gy = held.upstream(y, g, i);\n"
        "  held.finish(i, y, held.gradient(x, y, gy, s, b));\n}}\n\n",
        stats, back, split.groups, split.size, split.chunk, kThreads, split.group_threads,
        split.splits, group_code(runs_of(grouping)));
  }

  Statistic reduction_statistic() const {
    return info_of(std::get<ReductionOp>(parts_.reduction->op)).statistic;
  }

  GatherSplit group_split() const {
    const Grouping& grouping = parts_.reduction->grouping;
    return split_gather(grouping.group_count(), grouping.group_size(), side_by_side(grouping));
  }

  // Blocks of held_step's kernel.
  std::int64_t held_blocks() const {
    const HeldLayout layout = held_layout();
    const std::int64_t per_block = kThreads / layout.group_threads;
    return (layout.groups + per_block - 1) / per_block;
  }

  bool reduces() const { return parts_.reduction != nullptr; }

  bool pools() const { return parts_.pool != nullptr; }

  // Whether a thread per pool window takes the gradient (templates/pool_backward.cuh,
  // window_gradients): the windows tile the pool's input. Else a thread per element.
  bool windowed() const { return parts_.pool && PoolShape(*parts_.pool).tiles(); }

  // The pool's windows, all planes.
  std::int64_t pool_windows() const { return element_count(parts_.pool->out_shape); }

 private:
  // How held_step's kernel holds the reduction's groups (its grouping, generator/chain_ir.h):
  // a thread, a warp or the block per group by its size, and the index in the value of place
  // p of group g. A group strided in memory (batch_norm's column) is spread over lanes too, its
  // loads uncoalesced: one thread's registers could not hold it.
  struct HeldLayout {
    std::int64_t groups = 0, size = 0;
    int group_threads = 1;
    std::string index;  // the body of index(g, p)
  };
  HeldLayout held_layout() const {
    const Grouping& grouping = parts_.reduction->grouping;
    const std::int64_t size = grouping.group_size();
    return {grouping.group_count(), size,
            size <= 32     ? 1
            : size <= 1024 ? 32
                           : kThreads,
            index_code(runs_of(grouping))};
  }

  std::size_t index(const Stage& stage) const {
    return static_cast<std::size_t>(&stage - ir_.stages.data());
  }

  // The coordinates an operand is read at, of element `i`: m and n of a GEMM's value, the
  // channel c of a convolution's.
  std::string coordinates(const std::string& i) const {
    const Shape& shape = ir_.main_shape;
    if (!spec_.main.is_conv())
      return fmt::format("    [[maybe_unused]] const long long m = {0} / {1}LL, n = {0} % {1}LL;\n",
                         i, shape.at(1));
    return fmt::format("    [[maybe_unused]] const long long c = {} / {}LL % {}LL;\n", i,
                       element_count(shape) / (shape.at(0) * shape.at(1)), shape.at(1));
  }

  // The stages before the pool step or reduction at element i: what it takes there.
  std::string middle_input() const {
    const ElementwiseCode e(ir_, type_, "x");
    const std::size_t last = parts_.before.empty() ? 0 : index(*parts_.before.back()) + 1;
    std::string code =
        "  // The value the pool step or reduction takes at element i.\n"
        "  __device__ __forceinline__ float middle_input(long long i) const {\n";
    code += coordinates("i");
    code += fmt::format("    const float x0 = {};\n", load(1, type_, "i"));
    return code + e.forward(parts_.before) + fmt::format("    return {};\n  }}\n", e.value(last));
  }

  // The pool's shape as templates/pool_backward.cuh takes it, and the gradient of a pooled
  // value back through the stages after the pool (they read scalars only: no coordinates, no
  // terms).
  std::string pool_config_and_after_pool() const {
    const Stage& stage = *parts_.pool;
    const PoolShape shape(stage);
    const PoolOp& pool = shape.pool;
    const std::array<std::int64_t, 3>&in = shape.in, &out = shape.out;
    const ElementwiseCode f(ir_, type_, "f", "g_o");
    return fmt::format(
        "  struct PoolConfig {{\n"
        "    static constexpr int ID = {}, IH = {}, IW = {}, OD = {}, OH = {}, OW = {};\n"
        "    static constexpr int KD = {}, KH = {}, KW = {}, SD = {}, SH = {}, SW = {};\n"
        "    static constexpr int PD = {}, PH = {}, PW = {};\n"
        "    static constexpr bool MAX = {}, POOLED_VALUE = {};\n  }};\n\n"
        "  // The gradient of the pooled value at output element o.\n"
        "  __device__ __forceinline__ float after_pool([[maybe_unused]] float {}, long long o) "
        "const {{\n"
        "    [[maybe_unused]] float terms[1];\n{}    float g_o = {};\n{}    return g_o;\n  }}\n",
        in[0], in[1], in[2], out[0], out[1], out[2], pool.kernel[0], pool.kernel[1], pool.kernel[2],
        pool.stride[0], pool.stride[1], pool.stride[2], pool.padding[0], pool.padding[1],
        pool.padding[2], pool.kind == PoolKind::max, !parts_.after.empty(),
        f.value(index(stage) + 1), f.forward(parts_.after), load(0, spec_.main.output_dtype(), "o"),
        f.backward(parts_.after));
  }

  const Spec& spec_;
  ChainIR ir_;
  Parts parts_;
  DataType type_;
};

// A summing step for operand j's gradient: a column summed over the rows, a row over the
// columns, a channel over the batch and positions, through gather_statistics
// (templates/finishing.cuh) with SumStat.
struct OperandSum {
  int operand = 0;  // j: the spec's tensor 2 + j
  OperandKind kind = OperandKind::column;
  // The chain's first op adds the operand (bias, add): its gradient term is g' itself, which
  // the sum reads back from the main kernel's output instead of recomputing the chain.
  bool reads_g_prime = false;
  // Else where the main kernel left the terms: bytes into the workspace (a normalization's
  // weight and bias), or nullopt: the chain recomputed at each element.
  std::optional<std::uint64_t> terms = std::nullopt;
};

}  // namespace

KernelSource emit_chain_derivative(const Spec& spec) {
  check_fused_backward(spec);
  const std::size_t operands = chain_operand_count(spec);
  if (2 + 2 * operands > static_cast<std::size_t>(kMaxLaunchTensors))
    throw Error(StatusCode::invalid_argument,
                fmt::format("the backward of a chain with {} operand tensors takes {} tensors, "
                            "more than the {} a launch takes",
                            operands, 2 + 2 * operands, kMaxLaunchTensors));
  const ChainIR ir = compile_chain(spec);
  const Shape& shape = ir.main_shape;
  const std::int64_t count = element_count(shape);
  const DataType type = spec.main.dtype;
  const std::string type_name(cuda_type(type));
  std::vector<OperandSum> sums;
  std::string tensor_writes;
  for (const Stage& stage : ir.stages) {
    const auto* op = std::get_if<EpilogueOp>(&stage.op);
    if (op == nullptr || stage.tensors.empty()) continue;
    const int j = stage.tensors.at(0) - 2;
    if (op->operand == OperandKind::tensor)
      tensor_writes +=
          "  " + store(2 + static_cast<int>(operands) + j, type, "i", fmt::format("terms[{}]", j)) +
          "\n";
    else
      sums.push_back({j, op->operand, &stage == &ir.stages.front() && adds(*op)});
  }

  KernelSource kernel;
  kernel.name = fmt::format("ft_chain_backward_{}", fmt::join(shape, "x"));
  kernel.launch.grid = launch_grid((count + kThreads - 1) / kThreads);
  kernel.launch.block = {kThreads, 1, 1};
  std::string steps, entries;
  std::uint64_t workspace = 0;
  const DerivativeWriter writer(spec);
  // Through a pool, an operand's term at an element needs the pool's gradient there, which a
  // summing step could only recompute from a window of values each (or not at all, where a
  // thread per window passes it in): the main kernel leaves the terms in the workspace.
  std::string term_writes;
  if (writer.pools())
    for (OperandSum& sum : sums)
      if (!sum.reads_g_prime) {
        sum.terms = workspace;
        term_writes += fmt::format(
            "  reinterpret_cast<float*>(reinterpret_cast<char*>(workspace) + {})[i] = "
            "terms[{}];\n",
            workspace, sum.operand);
        workspace += (4 * static_cast<std::uint64_t>(count) + 255) / 256 * 256;
      }
  // An affine normalization's weight and bias terms, written by the kernel that holds the rows
  // and summed over the rows by steps of their own.
  std::optional<std::uint64_t> affine_terms;
  if (writer.affine_normalization()) {
    affine_terms = workspace;
    workspace += (2 * 4 * static_cast<std::uint64_t>(count) + 255) / 256 * 256;
    for (const Stage& stage : ir.stages) {
      if (!std::holds_alternative<ReductionOp>(stage.op)) continue;
      const std::vector<int> affine = affine_tensors(stage);
      for (std::size_t t = 0; t < affine.size(); ++t)
        sums.push_back({affine[t] - 2,
                        spec.main.is_conv() ? OperandKind::channel : OperandKind::column, false,
                        *affine_terms + 4 * static_cast<std::uint64_t>(count) * t});
    }
  }
  // Groups more than a block holds: the statistics kernels first (the main kernel gathers the
  // forward statistics), then each element's gradient; every kernel reads the group through
  // the Held step.
  std::string split_code;
  const bool split_groups = writer.reduces() && !writer.holds_groups();
  GatherSplit group_split;
  if (split_groups) {
    group_split = writer.group_split();
    auto reserve = [&](std::uint64_t bytes) {
      const std::uint64_t at = workspace;
      workspace += (bytes + 255) / 256 * 256;
      return at;
    };
    const std::uint64_t groups = static_cast<std::uint64_t>(group_split.groups);
    const std::uint64_t stat_bytes = statistic_bytes(writer.reduction_statistic());
    const std::uint64_t stats = reserve(stat_bytes * groups);
    const std::uint64_t back = reserve(kBackStatBytes * groups);
    const std::uint64_t partials = reserve(stat_bytes * groups * group_split.splits);
    const std::uint64_t counters =
        reserve(4 * static_cast<std::uint64_t>(group_split.group_blocks));
    const std::uint64_t back_partials = reserve(kBackStatBytes * groups * group_split.splits);
    const std::uint64_t back_counters =
        reserve(4 * static_cast<std::uint64_t>(group_split.group_blocks));
    split_code = writer.split_steps(stats, back, group_split);
    const std::string held = "Held{Chain{args}, reinterpret_cast<char*>(workspace)}";
    entries += fmt::format(
        "extern \"C\" __global__ void __launch_bounds__({0})\n"
        "{1}(const __grid_constant__ ft::LaunchArgs args, float* __restrict__ workspace) {{\n"
        "  char* bytes = reinterpret_cast<char*>(workspace);\n"
        "  ft::gather_statistics<SplitConfig>(Statistics{{{2}}},\n"
        "      reinterpret_cast<Held::Stat*>(bytes + {3}), reinterpret_cast<unsigned*>(bytes + "
        "{4}));\n"
        "}}\n"
        "extern \"C\" __global__ void __launch_bounds__({0})\n"
        "{1}_back(const __grid_constant__ ft::LaunchArgs args, float* __restrict__ workspace) {{\n"
        "  char* bytes = reinterpret_cast<char*>(workspace);\n"
        "  ft::gather_statistics<SplitConfig>(BackStatistics{{{2}}},\n"
        "      reinterpret_cast<Held::BackStat*>(bytes + {5}),\n"
        "      reinterpret_cast<unsigned*>(bytes + {6}));\n}}\n"
        "extern \"C\" __global__ void __launch_bounds__({0})\n"
        "{1}_gradient(const __grid_constant__ ft::LaunchArgs args, float* __restrict__ workspace) "
        "{{\n"
        "  const Held held = {2};\n"
        "  for (long long i = blockIdx.x * static_cast<long long>({0}) + threadIdx.x; i < {7}LL;\n"
        "       i += static_cast<long long>(gridDim.x) * {0})\n"
        "    split_gradient(held, i);\n}}\n",
        kThreads, kernel.name, held, partials, counters, back_partials, back_counters, count);
    LaunchGeometry geometry;
    geometry.grid = launch_grid(group_split.group_blocks * group_split.splits);
    geometry.block = {kThreads, 1, 1};
    kernel.finishing.steps.push_back({kernel.name + "_back", geometry});
    geometry.grid = launch_grid(std::min<std::int64_t>((count + kThreads - 1) / kThreads, 65536));
    kernel.finishing.steps.push_back({kernel.name + "_gradient", geometry});
  }
  for (const OperandSum& sum : sums) {
    // Groups and the index of a group's place p: a column's values lie N apart (neighbouring
    // groups side by side), a row's side by side, a channel's in runs of its positions.
    GatherSplit split;
    std::string index;
    const char* over = "rows";
    if (sum.kind == OperandKind::column) {
      split = split_gather(shape[1], shape[0], false);
      index = fmt::format("p * {}LL + g", shape[1]);
    } else if (sum.kind == OperandKind::row) {
      split = split_gather(shape[0], shape[1], true);
      index = fmt::format("g * {}LL + p", shape[1]);
      over = "columns";
    } else {
      const std::int64_t plane = count / (shape[0] * shape[1]);
      split = split_gather(shape[1], shape[0] * plane, true);
      index = fmt::format("p / {0}LL * {1}LL + g * {0}LL + p % {0}LL", plane, shape[1] * plane);
      over = "batch and positions";
    }
    const std::uint64_t partials = workspace;
    workspace += (4 * split.groups * split.splits + 255) / 256 * 256;
    const std::uint64_t counters = workspace;
    workspace += (4 * split.group_blocks + 255) / 256 * 256;
    const std::string entry = fmt::format("{}_sum{}", kernel.name, sum.operand);
    steps += fmt::format(
        "// The gradient of operand {0}, summed over the {1}.\n"
        "struct Sum{0} {{\n  Chain chain;\n  const char* workspace;\n  using Stat = ft::SumStat;\n"
        "  __device__ __forceinline__ float input(long long g, long long p) const {{\n{2}  }}\n"
        "  __device__ __forceinline__ void finish(long long g, const Stat& s) const {{\n"
        "    const ft::LaunchArgs& args = chain.args;\n    {3}\n  }}\n}};\n"
        "struct Sum{0}Config {{\n"
        "  static constexpr long long GROUPS = {4}, SIZE = {5}, CHUNK = {6};\n"
        "  static constexpr int THREADS = {7}, GROUP_THREADS = {8}, SPLITS = {9};\n}};\n\n",
        sum.operand, over,
        sum.terms ? fmt::format("    return __ldcg(reinterpret_cast<const float*>(workspace + "
                                "{}) + {});\n",
                                *sum.terms, index)
        : sum.reads_g_prime
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
        "  ft::gather_statistics<Sum{2}Config>(Sum{2}{{Chain{{args}}, bytes}}, "
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
  if (!sums.empty() || std::any_of(ir.stages.begin(), ir.stages.end(), [](const Stage& s) {
        return std::holds_alternative<ReductionOp>(s.op);
      })) {
    kernel.code += inline_template("statistics.cuh", templates::statistics_cuh);
    kernel.code += inline_template("finishing.cuh", templates::finishing_cuh);
  }
  if (std::any_of(ir.stages.begin(), ir.stages.end(),
                  [](const Stage& s) { return std::holds_alternative<PoolOp>(s.op); }))
    kernel.code += inline_template("pool_backward.cuh", templates::pool_backward_cuh);
  if (split_groups) {
    kernel.launch.grid = launch_grid(group_split.group_blocks * group_split.splits);
    kernel.launch.workspace_bytes = workspace;
    kernel.code += fmt::format(
        "\nnamespace {{\n\nstruct Chain {{\n  const ft::LaunchArgs& args;\n\n{}}};\n\n{}{}{}}}  "
        "// namespace\n\n",
        writer.members(), writer.held_step(type_name, affine_terms), split_code, steps);
    kernel.code += entries;
    return kernel;
  }
  if (writer.reduces()) {
    kernel.code += inline_template("held_group_backward.cuh", templates::held_group_backward_cuh);
    kernel.launch.grid = launch_grid(writer.held_blocks());
    kernel.launch.workspace_bytes = affine_terms ? workspace : 0;
    kernel.code += fmt::format(
        "\nnamespace {{\n\nstruct Chain {{\n  const ft::LaunchArgs& args;\n\n{}}};\n\n{}{}}}  "
        "// namespace\n\n",
        writer.members(), writer.held_step(type_name, affine_terms), steps);
    kernel.code += fmt::format(
        "// g' at every element, a row of the reduction's input held per group.\n"
        "extern \"C\" __global__ void __launch_bounds__({0})\n"
        "{1}(const __grid_constant__ ft::LaunchArgs args{2}) {{\n"
        "  ft::backward_held_groups<HeldConfig>(Held{{Chain{{args}}, {3}}});\n}}\n\n",
        kThreads, kernel.name, affine_terms ? ", float* __restrict__ workspace" : "",
        affine_terms ? "reinterpret_cast<char*>(workspace)" : "nullptr");
    kernel.code += entries;
    return kernel;
  }
  kernel.code += fmt::format(
      "\nnamespace {{\n\nstruct Chain {{\n  const ft::LaunchArgs& args;\n\n{}}};\n\n{}}}  // "
      "namespace\n\n",
      writer.members(), steps);
  if (!term_writes.empty()) kernel.launch.workspace_bytes = workspace;
  const std::string parameters = term_writes.empty() ? "" : ", float* __restrict__ workspace";
  const std::string element = fmt::format(
      "  float terms[{0}];\n"
      "  const float g = chain.gradient(i, {1}terms);\n"
      "  reinterpret_cast<{2}*>(args.out)[i] = ft::from_float<{2}>(g);\n{3}{4}",
      std::max<std::size_t>(1, operands), writer.windowed() ? "g_in, " : "", type_name,
      tensor_writes, term_writes);
  if (writer.windowed()) {
    const std::int64_t windows = writer.pool_windows();
    kernel.launch.grid = launch_grid((windows + kThreads - 1) / kThreads);
    kernel.code += fmt::format(
        "// g' at every element, and the gradients of tensor operands: a thread per pool "
        "window.\n"
        "extern \"C\" __global__ void __launch_bounds__({0})\n"
        "{1}(const __grid_constant__ ft::LaunchArgs args{2}) {{\n"
        "  const long long o = blockIdx.x * static_cast<long long>({0}) + threadIdx.x;\n"
        "  if (o >= {3}LL) return;\n"
        "  const Chain chain{{args}};\n"
        "  ft::window_gradients<Chain::PoolConfig>(chain, o, [&](long long i, float g_in) {{\n"
        "{4}  }});\n}}\n\n",
        kThreads, kernel.name, parameters, windows, element);
  } else {
    kernel.code += fmt::format(
        "// g' at every element, and the gradients of tensor operands.\n"
        "extern \"C\" __global__ void __launch_bounds__({0})\n"
        "{1}(const __grid_constant__ ft::LaunchArgs args{2}) {{\n"
        "  const long long i = blockIdx.x * static_cast<long long>({0}) + threadIdx.x;\n"
        "  if (i >= {3}LL) return;\n"
        "  const Chain chain{{args}};\n{4}}}\n\n",
        kThreads, kernel.name, parameters, count, element);
  }
  kernel.code += entries;
  return kernel;
}

}  // namespace fusetune
