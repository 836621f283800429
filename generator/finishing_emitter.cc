#include "generator/finishing_emitter.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "fusetune/status.h"
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

constexpr int kThreads = kGatherThreads;
constexpr std::int64_t kAlignment = 256;
// The most values of a group one thread holds in registers, where a kernel holds whole groups.
constexpr std::int64_t kMaxHeld = 32;

std::uint64_t aligned(std::uint64_t bytes) {
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

// A float literal.
std::string literal(double value) { return canonical_number(value) + "f"; }

// What the finishing kernels do for a stage that needs a whole group's statistics: a reduction,
// or a global average pool (the mean over each channel's positions).
struct GroupStage {
  Statistic statistic = Statistic::sum;
  std::string_view input;
  std::string_view result;
  bool collapses = false;  // the group becomes one value
  bool running = false;    // batch_norm with running statistics
  bool training = true;    // batch_norm: gather the batch's statistics
  Grouping grouping;
};

std::optional<GroupStage> group_stage(const Stage& stage) {
  if (const auto* pool = std::get_if<PoolOp>(&stage.op)) {
    if (pool->kind != PoolKind::global_avg) return std::nullopt;
    Grouping g{.view = stage.in_shape, .reduced = std::vector<bool>(stage.in_shape.size(), true)};
    g.reduced[0] = g.reduced[1] = false;
    return GroupStage{.input = "{x}", .result = "{s}.sum / {n}", .collapses = true, .grouping = g};
  }
  const auto* op = std::get_if<ReductionOp>(&stage.op);
  if (op == nullptr) return std::nullopt;
  const ReductionOpInfo& info = info_of(*op);
  return GroupStage{.statistic = info.statistic,
                    .input = info.input,
                    .result = info.result,
                    .collapses = info.kind == ReductionKind::reduce,
                    .running = op->name == "batch_norm" && op->track_running,
                    .training = op->training,
                    .grouping = stage.grouping};
}

class FinishingEmitter {
 public:
  FinishingEmitter(const Spec& spec, std::size_t first, std::string name, std::uint64_t workspace)
      : ir_(compile_chain(spec)),
        first_(first),
        name_(std::move(name)),
        out_type_(cuda_type(spec.main.output_dtype())),
        input_type_(spec.main.dtype),
        next_offset_(aligned(workspace)) {}

  FinishingKernels emit() {
    FinishingKernels kernels;
    const bool in_place = rewrites_in_place();
    if (!in_place) {
      kernels.main_output_offset = next_offset_;
      source_ = fmt::format("workspace + {}", next_offset_);
      const Shape& main_output = first_ == 0 ? ir_.main_shape : ir_.stages[first_ - 1].out_shape;
      reserve(static_cast<std::uint64_t>(element_count(main_output)) * out_bytes());
    } else {
      source_ = "reinterpret_cast<char*>(args.out)";
    }
    std::string members, steps, entries;
    members += fmt::format(
        "  // The value after the first {0} stages: what the main kernel wrote.\n"
        "  __device__ __forceinline__ float value_{0}(long long i) const {{\n"
        "    return ft::to_float(reinterpret_cast<const Out*>({1})[i]);\n  }}\n",
        first_, source_);
    const std::optional<std::size_t> held = held_group_stage();
    for (std::size_t s = first_; s < ir_.stages.size(); ++s) {
      const Stage& stage = ir_.stages[s];
      const std::optional<GroupStage> group = group_stage(stage);
      if (!group) {
        members += std::holds_alternative<PoolOp>(stage.op) ? pool_value(s) : elementwise_value(s);
        continue;
      }
      const bool gathers = !group->running || group->training;
      if (s == held) {
        const GatherLayout layout = held_layout(*group);
        members += statistics_members(s, *group, layout);
        steps += held_groups_step(s, *group, layout);
        entries += held_groups_entry(s, layout, kernels);
      } else if (gathers) {
        const GatherLayout layout = gather_layout(*group);
        members += statistics_members(s, *group, layout);
        steps += statistics_step(s, *group, layout);
        entries += statistics_entry(s, *group, layout, kernels);
      }
      members += reduction_value(s, *group);
    }
    if (held) return finish(std::move(kernels), members, steps, entries);
    const std::size_t last = ir_.stages.size();
    steps += fmt::format(
        "struct Output {{\n  Chain chain;\n"
        "  __device__ __forceinline__ float value(long long i) const {{ return chain.value_{}(i); "
        "}}\n}};\n\n",
        last);
    const std::int64_t count = element_count(ir_.shape());
    entries += fmt::format(
        "extern \"C\" __global__ void __launch_bounds__({0})\n"
        "{1}_output(const __grid_constant__ ft::LaunchArgs args, float* __restrict__ workspace) "
        "{{\n"
        "  ft::write_output<{2}LL, {0}>(Output{{Chain{{args, "
        "reinterpret_cast<char*>(workspace)}}}}, "
        "reinterpret_cast<Out*>(args.out));\n}}\n",
        kThreads, name_, count);
    LaunchGeometry output;
    output.grid = launch_grid((count + kThreads - 1) / kThreads);
    output.block = {kThreads, 1, 1};
    kernels.steps.push_back({name_ + "_output", output});
    return finish(std::move(kernels), members, steps, entries);
  }

 private:
  // The kernels' code around the generated members, steps and entries.
  FinishingKernels finish(FinishingKernels kernels, const std::string& members,
                          const std::string& steps, const std::string& entries) const {
    // Every finishing entry takes the workspace parameter, and the launcher passes one only to
    // kernels that ask for bytes: a plan that needs none (batch_norm in eval mode, rewriting the
    // value in place) still asks for one aligned block.
    kernels.workspace_bytes = std::max<std::uint64_t>(next_offset_, kAlignment);
    for (KernelStep& step : kernels.steps) step.launch.workspace_bytes = kernels.workspace_bytes;
    kernels.code = fmt::format(
        "\n{}\n{}\n// ---- generated: the plan's finishing kernels ----\nnamespace {{\n\n"
        "using Out = {};\n\n"
        "// The chain from where the main kernel left it, one stage at a time.\n"
        "struct Chain {{\n  const ft::LaunchArgs& args;\n  char* workspace;\n\n{}}};\n\n"
        "{}}}  // namespace\n\n{}",
        main_kernel_gathers() ? std::string()
                              : inline_template("statistics.cuh", templates::statistics_cuh),
        inline_template("finishing.cuh", templates::finishing_cuh), out_type_, members, steps,
        entries);
    return kernels;
  }

  // Whether the main kernel normalizes in its epilogue, and so already has the statistic types.
  bool main_kernel_gathers() const {
    return std::any_of(ir_.stages.begin(), ir_.stages.begin() + static_cast<std::ptrdiff_t>(first_),
                       [](const Stage& s) { return std::holds_alternative<ReductionOp>(s.op); });
  }

  // How a statistics kernel covers its groups.
  struct GatherLayout {
    std::int64_t groups = 0, size = 0, chunk = 0;
    int group_threads = 1, splits = 1;
    std::int64_t group_blocks = 0;
    std::uint64_t stats = 0, partials = 0, counters = 0;  // workspace offsets
  };

  // The finishing kernels may rewrite the main kernel's output in place where every later stage
  // keeps the value's shape and reads an element only at its own index.
  bool rewrites_in_place() const {
    for (std::size_t s = first_; s < ir_.stages.size(); ++s) {
      const Stage& stage = ir_.stages[s];
      if (std::holds_alternative<PoolOp>(stage.op)) return false;
      if (const auto* op = std::get_if<ReductionOp>(&stage.op);
          op != nullptr && info_of(*op).kind == ReductionKind::reduce)
        return false;
    }
    return true;
  }

  std::uint64_t out_bytes() const { return out_type_ == "float" ? 4 : 2; }

  std::uint64_t reserve(std::uint64_t bytes) {
    const std::uint64_t offset = next_offset_;
    next_offset_ = aligned(next_offset_ + bytes);
    return offset;
  }

  // Input tensor t at `index`, widened to fp32.
  std::string load(int t, const std::string& index) const {
    if (input_type_ == DataType::fp32) return fmt::format("__ldg(args.tensors[{}] + {})", t, index);
    return fmt::format("ft::load_float({} + {})", tensor_pointer(t, input_type_), index);
  }

  // Stores fp32 `value` into input tensor t at `index`: the tensors a plan updates.
  std::string store(int t, const std::string& index, const std::string& value) const {
    return fmt::format(
        "reinterpret_cast<{0}*>(const_cast<float*>(args.tensors[{1}]))[{2}] = "
        "ft::from_float<{0}>({3});",
        cuda_type(input_type_), t, index, value);
  }

  static std::string scalar(int s) { return fmt::format("args.scalars[{}]", s); }

  // The channel of element `i` of a value [N, C, ...].
  static std::string channel_of(const Shape& shape) {
    const std::int64_t plane = element_count(shape) / (shape.at(0) * shape.at(1));
    return fmt::format("i / {}LL % {}", plane, shape.at(1));
  }

  std::string elementwise_value(std::size_t s) const {
    const Stage& stage = ir_.stages[s];
    const EpilogueOp& op = std::get<EpilogueOp>(stage.op);
    const EpilogueOpInfo& info = info_of(op);
    const Shape& shape = stage.in_shape;
    std::string y;
    std::size_t scalars = 0;
    switch (op.operand) {
      case OperandKind::scalar:
        y = scalar(stage.scalars.at(scalars++));
        break;
      case OperandKind::column:
        y = load(stage.tensors.at(0), fmt::format("i % {}LL", shape.back()));
        break;
      case OperandKind::row:
        y = load(stage.tensors.at(0), fmt::format("i / {}LL", shape.back()));
        break;
      case OperandKind::channel:
        y = load(stage.tensors.at(0), fmt::format("({})", channel_of(shape)));
        break;
      case OperandKind::tensor:
        y = load(stage.tensors.at(0), "i");
        break;
      case OperandKind::main:
        throw Error(StatusCode::internal, "a finishing kernel cannot read the main op's value");
      case OperandKind::none:
        break;
    }
    std::array<std::string, 2> params;
    for (std::size_t p = 0; p < info.params.size(); ++p)
      params.at(p) = scalar(stage.scalars.at(scalars++));
    std::string body;
    if (!y.empty()) body += fmt::format("    const float y = {};\n", y);
    for (std::size_t p = 0; p < info.params.size(); ++p)
      body += fmt::format("    const float p{} = {};\n", p, params[p]);
    body +=
        fmt::format("    return {};\n",
                    fmt::format(fmt::runtime(info.cuda.at(op.mode)), fmt::arg("x", "x"),
                                fmt::arg("y", "y"), fmt::arg("p0", "p0"), fmt::arg("p1", "p1")));
    return fmt::format(
        "  // stage {0}: {1}\n"
        "  __device__ __forceinline__ float apply_{0}(float x, [[maybe_unused]] long long i) const "
        "{{\n{2}  }}\n"
        "  __device__ __forceinline__ float value_{3}(long long i) const {{\n"
        "    return apply_{0}(value_{0}(i), i);\n  }}\n",
        s, op.name, body, s + 1);
  }

  std::string pool_value(std::size_t s) const {
    const Stage& stage = ir_.stages[s];
    const PoolOp& pool = std::get<PoolOp>(stage.op);
    const int dims = static_cast<int>(stage.in_shape.size()) - 2;
    std::array<std::int64_t, 3> in{1, 1, 1}, out{1, 1, 1};
    std::copy(stage.in_shape.end() - dims, stage.in_shape.end(), in.end() - dims);
    std::copy(stage.out_shape.end() - dims, stage.out_shape.end(), out.end() - dims);
    const bool max = pool.kind == PoolKind::max;
    std::string body = fmt::format(
        "    constexpr int ID = {}, IH = {}, IW = {}, OD = {}, OH = {}, OW = {};\n"
        "    const long long plane = i / (OD * OH * OW);\n"
        "    const int o = static_cast<int>(i % (OD * OH * OW));\n"
        "    const int od = o / (OH * OW), oh = o / OW % OH, ow = o % OW;\n"
        "    const long long base = plane * (ID * IH * IW);\n"
        "    float result = {};\n",
        in[0], in[1], in[2], out[0], out[1], out[2], max ? "-ft::infinity()" : "0.f");
    const char axes[] = {'d', 'h', 'w'};
    for (int a = 0; a < 3; ++a)  // where each axis's window starts, padding included
      body += fmt::format("    const int {0}0 = o{0} * {1} - {2};\n", axes[a], pool.stride[a],
                          pool.padding[a]);
    for (int a = 0; a < 3; ++a)
      body += fmt::format(
          "    for (int {0} = {0}0 < 0 ? 0 : {0}0; {0} < {0}0 + {1} && {0} < I{2}; ++{0})\n",
          axes[a], pool.kernel[a], static_cast<char>(std::toupper(axes[a])));
    body +=
        fmt::format("    {{\n      const float v = value_{}(base + (d * IH + h) * IW + w);\n", s);
    body += max ? "      if (result == result && !(v <= result)) result = v;  // NaN wins\n    }\n"
                : "      result += v;\n    }\n";
    if (!max) {
      // count_include_pad: the window clipped to the padded extent.
      std::string divisor = "1";
      for (int a = 0; a < 3; ++a)
        divisor += fmt::format(" * (min({0}0 + {1}, I{2} + {3}) - {0}0)", axes[a], pool.kernel[a],
                               static_cast<char>(std::toupper(axes[a])), pool.padding[a]);
      body += fmt::format("    result /= static_cast<float>({});\n", divisor);
    }
    body += "    return result;\n";
    return fmt::format(
        "  // stage {0}: {1}\n"
        "  __device__ __forceinline__ float value_{2}(long long i) const {{\n{3}  }}\n",
        s, pool_step_name(pool, dims), s + 1, body);
  }

  static int group_threads(const Grouping& grouping) {
    return gather_group_threads(grouping.group_size(), side_by_side(grouping));
  }

  GatherLayout gather_layout(const GroupStage& group) {
    const GatherSplit split = split_gather(
        group.grouping.group_count(), group.grouping.group_size(), side_by_side(group.grouping));
    GatherLayout layout{.groups = split.groups,
                        .size = split.size,
                        .chunk = split.chunk,
                        .group_threads = split.group_threads,
                        .splits = split.splits,
                        .group_blocks = split.group_blocks};
    const std::uint64_t bytes = statistic_bytes(group.statistic);
    layout.stats = reserve(bytes * layout.groups);
    if (layout.splits > 1) {
      layout.partials = reserve(bytes * layout.groups * layout.splits);
      layout.counters = reserve(4 * layout.group_blocks);
    }
    return layout;
  }

  // The stage whose groups the finishing kernel can hold in registers, a group's values
  // MAX_HELD at most per thread: the chain's only reduction, a normalization that gathers its
  // statistics, with only elementwise stages around it. One kernel then reads each group once,
  // merges its statistics and writes its outputs, where otherwise a statistics kernel and an
  // output kernel would each read it.
  std::optional<std::size_t> held_group_stage() const {
    std::optional<std::size_t> found;
    for (std::size_t s = first_; s < ir_.stages.size(); ++s) {
      if (std::holds_alternative<EpilogueOp>(ir_.stages[s].op)) continue;
      const std::optional<GroupStage> group = group_stage(ir_.stages[s]);
      if (!group || found || group->collapses || (group->running && !group->training))
        return std::nullopt;
      found = s;
    }
    if (!found) return std::nullopt;
    const Grouping& grouping = ir_.stages[*found].grouping;
    const std::int64_t held =
        (grouping.group_size() + group_threads(grouping) - 1) / group_threads(grouping);
    if (held > kMaxHeld) return std::nullopt;
    return found;
  }

  GatherLayout held_layout(const GroupStage& group) {
    GatherLayout layout;
    layout.groups = group.grouping.group_count();
    layout.size = group.grouping.group_size();
    layout.group_threads = group_threads(group.grouping);
    layout.chunk = (layout.size + layout.group_threads - 1) / layout.group_threads;  // per thread
    const int groups_per_block = kThreads / layout.group_threads;
    layout.group_blocks = (layout.groups + groups_per_block - 1) / groups_per_block;
    layout.stats = reserve(statistic_bytes(group.statistic) * layout.groups);
    return layout;
  }

  std::string held_groups_step(std::size_t s, const GroupStage& group,
                               const GatherLayout& layout) const {
    std::string output = fmt::format("    float y = chain.normalized_{}(x, s, i);\n", s);
    for (std::size_t t = s + 1; t < ir_.stages.size(); ++t)
      output += fmt::format("    y = chain.apply_{}(y, i);\n", t);
    return fmt::format(
        "struct Groups{0} {{\n  Chain chain;\n  using Stat = {1};\n"
        "  __device__ __forceinline__ float value(long long g, long long p) const {{\n"
        "    return chain.value_{0}(chain.index_{0}(g, p));\n  }}\n"
        "  __device__ __forceinline__ float input(float x) const {{ return {2}; }}\n"
        "  __device__ __forceinline__ long long index(long long g, long long p) const {{\n"
        "    return chain.index_{0}(g, p);\n  }}\n"
        "  __device__ __forceinline__ float output(float x, const Stat& s, long long i) const {{\n"
        "{3}    return y;\n  }}\n"
        "  __device__ __forceinline__ void finish(long long g, const Stat& s) const {{\n"
        "    chain.finish_{0}(g, s);\n  }}\n}};\n"
        "struct Groups{0}Config {{\n"
        "  static constexpr long long GROUPS = {4}, SIZE = {5};\n"
        "  static constexpr int THREADS = {6}, GROUP_THREADS = {7}, HELD = {8};\n}};\n\n",
        s, statistic_type(group.statistic),
        fmt::format(fmt::runtime(group.input), fmt::arg("x", "x")), output, layout.groups,
        layout.size, kThreads, layout.group_threads, layout.chunk);
  }

  std::string held_groups_entry(std::size_t s, const GatherLayout& layout,
                                FinishingKernels& kernels) const {
    const std::string entry = fmt::format("{}_groups{}", name_, s);
    LaunchGeometry geometry;
    geometry.grid = launch_grid(layout.group_blocks);
    geometry.block = {kThreads, 1, 1};
    kernels.steps.push_back({entry, geometry});
    return fmt::format(
        "extern \"C\" __global__ void __launch_bounds__({0})\n"
        "{1}(const __grid_constant__ ft::LaunchArgs args, float* __restrict__ workspace) {{\n"
        "  ft::normalize_held_groups<Groups{2}Config>(Groups{2}{{Chain{{args, "
        "reinterpret_cast<char*>(workspace)}}}}, reinterpret_cast<Out*>(args.out));\n}}\n",
        kThreads, entry, s);
  }

  std::string statistics_pointer(std::size_t s, const GroupStage& group,
                                 std::uint64_t offset) const {
    return fmt::format(
        "  __device__ __forceinline__ {0}* statistics_{1}() const {{\n"
        "    return reinterpret_cast<{0}*>(workspace + {2});\n  }}\n",
        statistic_type(group.statistic), s, offset);
  }

  std::string statistics_members(std::size_t s, const GroupStage& group,
                                 const GatherLayout& layout) const {
    const Stage& stage = ir_.stages[s];
    const std::vector<Run> runs = runs_of(group.grouping);
    const std::string stat(statistic_type(group.statistic));
    std::string code = statistics_pointer(s, group, layout.stats);
    code += fmt::format(
        "  __device__ __forceinline__ long long index_{}(long long g, long long p) const {{\n{}  "
        "}}\n",
        s, index_code(runs));
    code += fmt::format(
        "  __device__ __forceinline__ float input_{0}(long long g, long long p) const {{\n"
        "    const float x = value_{0}(index_{0}(g, p));\n    return {1};\n  }}\n",
        s, fmt::format(fmt::runtime(group.input), fmt::arg("x", "x")));
    std::string finish = fmt::format("    statistics_{}()[g] = s;\n", s);
    if (group.running) {
      // PyTorch's update of the running statistics, the batch variance made unbiased.
      const int mean = stage.tensors.at(0), var = stage.tensors.at(1);
      const std::string momentum = scalar(stage.scalars.at(1));
      finish += fmt::format("    const float momentum = {};\n", momentum);
      finish += "    " +
                store(mean, "g",
                      fmt::format("(1.f - momentum) * {} + momentum * s.mean", load(mean, "g"))) +
                "\n";
      finish += "    " +
                store(var, "g",
                      fmt::format("(1.f - momentum) * {} + momentum * s.m2 / (s.count - 1.f)",
                                  load(var, "g"))) +
                "\n";
    }
    code += fmt::format(
        "  __device__ __forceinline__ void finish_{}(long long g, const {}& s) const {{\n{}  }}\n",
        s, stat, finish);
    return code;
  }

  std::string statistics_step(std::size_t s, const GroupStage& group,
                              const GatherLayout& layout) const {
    return fmt::format(
        "struct Statistics{0} {{\n  Chain chain;\n  using Stat = {1};\n"
        "  __device__ __forceinline__ float input(long long g, long long p) const {{\n"
        "    return chain.input_{0}(g, p);\n  }}\n"
        "  __device__ __forceinline__ void finish(long long g, const Stat& s) const {{\n"
        "    chain.finish_{0}(g, s);\n  }}\n}};\n"
        "struct Statistics{0}Config {{\n"
        "  static constexpr long long GROUPS = {2}, SIZE = {3}, CHUNK = {4};\n"
        "  static constexpr int THREADS = {5}, GROUP_THREADS = {6}, SPLITS = {7};\n}};\n\n",
        s, statistic_type(group.statistic), layout.groups, layout.size, layout.chunk, kThreads,
        layout.group_threads, layout.splits);
  }

  std::string statistics_entry(std::size_t s, const GroupStage& group, const GatherLayout& layout,
                               FinishingKernels& kernels) const {
    const std::string entry = fmt::format("{}_statistics{}", name_, s);
    LaunchGeometry geometry;
    geometry.grid = launch_grid(layout.group_blocks * layout.splits);
    geometry.block = {kThreads, 1, 1};
    kernels.steps.push_back({entry, geometry});
    return fmt::format(
        "extern \"C\" __global__ void __launch_bounds__({0})\n"
        "{1}(const __grid_constant__ ft::LaunchArgs args, float* __restrict__ workspace) {{\n"
        "  char* bytes = reinterpret_cast<char*>(workspace);\n"
        "  ft::gather_statistics<Statistics{2}Config>(Statistics{2}{{Chain{{args, bytes}}}}, "
        "reinterpret_cast<{3}*>(bytes + {4}), reinterpret_cast<unsigned*>(bytes + {5}));\n}}\n",
        kThreads, entry, s, statistic_type(group.statistic), layout.partials, layout.counters);
  }

  // The value after a reduction stage: each element with its group's statistics, or the group's
  // own value.
  std::string reduction_value(std::size_t s, const GroupStage& group) const {
    const Stage& stage = ir_.stages[s];
    const std::vector<Run> runs = runs_of(group.grouping);
    const std::string stat(statistic_type(group.statistic));
    std::array<std::string, 2> params;
    const auto* op = std::get_if<ReductionOp>(&stage.op);
    for (std::size_t p = 0; p < stage.scalars.size() && p < 2; ++p)
      params.at(p) = scalar(stage.scalars[p]);
    const std::string n = literal(static_cast<double>(group.grouping.group_size()));
    auto result = [&](const std::string& x) {
      return fmt::format(fmt::runtime(group.result), fmt::arg("x", x), fmt::arg("s", "s"),
                         fmt::arg("n", n), fmt::arg("p0", params[0]), fmt::arg("p1", params[1]));
    };
    const std::string_view name = op != nullptr ? std::string_view(op->name) : "global_avg_pool";
    if (group.collapses)
      return fmt::format(
          "  // stage {0}: {1}\n"
          "  __device__ __forceinline__ float value_{2}(long long i) const {{\n"
          "    const {3} s = statistics_{0}()[i];\n    return {4};\n  }}\n",
          s, name, s + 1, stat, result(""));
    // An element with its group's statistics, then the weight and bias.
    std::string body = fmt::format("    float y = {};\n", result("x"));
    if (op != nullptr && op->affine) {
      const ReductionOpInfo& info = info_of(*op);
      const std::size_t first_affine = group.running ? 2 : 0;
      const std::string place = info.affine == Affine::elements
                                    ? fmt::format("i % {}LL", element_count(op->normalized_shape))
                                    : fmt::format("({})", channel_of(stage.in_shape));
      body += fmt::format("    y *= {};\n", load(stage.tensors.at(first_affine), place));
      if (info.affine_bias)
        body += fmt::format("    y += {};\n", load(stage.tensors.at(first_affine + 1), place));
    }
    body += "    return y;\n";
    std::string statistics;
    if (group.running && !group.training) {  // eval: the running statistics stand in
      const std::string c = fmt::format("({})", channel_of(stage.in_shape));
      statistics = fmt::format("{}::of({}, {})", stat, load(stage.tensors.at(0), c),
                               load(stage.tensors.at(1), c));
    } else {
      statistics = fmt::format("statistics_{}()[{}]", s, group_code(runs));
    }
    return fmt::format(
        "  // stage {0}: {1}\n"
        "  __device__ __forceinline__ float normalized_{0}(float x, const {2}& s, "
        "[[maybe_unused]] long long i) const {{\n{3}  }}\n"
        "  __device__ __forceinline__ float value_{4}(long long i) const {{\n"
        "    return normalized_{0}(value_{0}(i), {5}, i);\n  }}\n",
        s, name, stat, body, s + 1, statistics);
  }

  ChainIR ir_;
  std::size_t first_;
  std::string name_;
  std::string_view out_type_;
  DataType input_type_;
  std::uint64_t next_offset_;
  std::string source_;
};

}  // namespace

FinishingKernels emit_finishing_kernels(const Spec& spec, std::size_t main_stages,
                                        const std::string& name,
                                        std::uint64_t main_workspace_bytes) {
  if (main_stages >= spec.chain.size())
    throw Error(StatusCode::internal, "a plan finishes at least one stage after its main kernel");
  return FinishingEmitter(spec, main_stages, name, main_workspace_bytes).emit();
}

}  // namespace fusetune
