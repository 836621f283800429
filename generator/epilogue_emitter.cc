#include "generator/epilogue_emitter.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <vector>

#include "generator/chain_ir.h"
#include "generator/kernel_assembly.h"
#include "generator/ops.h"
#include "generator/reductions.h"
#include "generator/spec_parser.h"

namespace fusetune {
namespace {

// The canonical text of each epilogue op, for comments: canonical() joins them with " -> ".
std::vector<std::string> op_texts(const Spec& spec) {
  const std::string text = spec.canonical();
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t arrow; (arrow = text.find(" -> ", start)) != std::string::npos;) {
    parts.push_back(text.substr(start, arrow - start));
    start = arrow + 4;
  }
  parts.push_back(text.substr(start));
  parts.erase(parts.begin());  // the main op
  return parts;
}

// How generated code reads a tensor operand: statements before the element loop, and the
// value's expression inside it. For an op that writes its tensor (save), `value` is the
// statement that writes `x` inside the loop, and `store` what completes the writes after it.
struct OperandRead {
  std::string load;
  std::string value;
  std::string store = {};
};
using OperandReader = std::function<OperandRead(OperandKind kind, int tensor, bool write)>;

// Straight-line code for the elementwise stages [first, last) of `ir`: operand reads, one
// statement per op on `x`, and the writes of tensors that save the value.
struct ChainCode {
  std::string loads;
  std::string body;
  std::string stores;
};

// A writable pointer to tensor `i` of the launch, as elements of `type`.
std::string written_tensor_pointer(int i, DataType type) {
  const std::string pointer = fmt::format("const_cast<float*>(args.tensors[{}])", i);
  if (type == DataType::fp32) return pointer;
  return fmt::format("reinterpret_cast<{}*>({})", cuda_type(type), pointer);
}

ChainCode write_chain(const Spec& spec, const ChainIR& ir, std::size_t first, std::size_t last,
                      const OperandReader& read) {
  const std::vector<std::string> texts = op_texts(spec);
  bool uses_main = false;
  for (std::size_t i = first; i < last; ++i)
    uses_main = uses_main || std::get<EpilogueOp>(ir.stages[i].op).operand == OperandKind::main;
  ChainCode chain;
  if (uses_main && ir.main_value_stages == 0) chain.body += "      const float main_value = x;\n";
  for (std::size_t i = first; i < last; ++i) {
    const Stage& stage = ir.stages[i];
    const EpilogueOp& op = std::get<EpilogueOp>(stage.op);
    const EpilogueOpInfo& info = info_of(op);
    std::size_t scalar = 0;
    auto next_scalar = [&] {
      const int index = stage.scalars.at(scalar++);
      chain.loads += fmt::format("    const float s{0} = args.scalars[{0}];\n", index);
      return fmt::format("s{}", index);
    };
    if (info.writes_operand) {
      const OperandRead write = read(op.operand, stage.tensors.at(0), true);
      chain.loads += write.load;
      chain.body += fmt::format("      {};  // {}\n", write.value, texts.at(i));
      chain.stores += write.store;
      continue;
    }
    std::string y;  // the second input of a binary op, per element
    switch (op.operand) {
      case OperandKind::none:
        break;
      case OperandKind::scalar:
        y = next_scalar();
        break;
      case OperandKind::main:
        y = "main_value";
        break;
      default: {
        const OperandRead operand = read(op.operand, stage.tensors.at(0), false);
        chain.loads += operand.load;
        y = operand.value;
      }
    }
    std::vector<std::string> params;
    for (std::size_t p = 0; p < info.params.size(); ++p) params.push_back(next_scalar());
    params.resize(2);  // unused placeholders format to nothing
    const std::string expression =
        fmt::format(fmt::runtime(info.cuda.at(op.mode)), fmt::arg("x", "x"), fmt::arg("y", y),
                    fmt::arg("p0", params[0]), fmt::arg("p1", params[1]));
    chain.body += fmt::format("      x = {};  // {}\n", expression, texts.at(i));
    if (uses_main && ir.main_value_stages == i + 1)
      chain.body += "      const float main_value = x;\n";
  }
  return chain;
}

// `[[maybe_unused]] ` where a parameter goes unread.
std::string_view unused_unless(bool used) { return used ? "" : "[[maybe_unused]] "; }

// `apply_channels(v, channel0, index0, plane)`: the values of one position in each channel the
// thread holds (channel channel0 + c at index0 + c * plane) through a normalization over the
// channels and the elementwise ops after it, where the kernel holds every channel of a position
// (plan.h, holds_channels); else nothing.
std::string channel_normalization(const Spec& spec, const ChainIR& ir,
                                  std::optional<std::size_t> stage) {
  std::string code =
      "  // A normalization over a position's channels, then the ops after it, where the thread "
      "holds\n  // every channel.\n  template <int CO>\n";
  if (!stage)
    return code +
           "  __device__ __forceinline__ void apply_channels(float (&)[CO], int, int, int) const "
           "{}\n";
  const Stage& normalization = ir.stages[*stage];
  const ReductionOp& op = std::get<ReductionOp>(normalization.op);
  const ReductionOpInfo& info = info_of(op);
  const std::int64_t channels = normalization.in_shape.at(1);
  const std::string n = canonical_number(static_cast<double>(channels)) + "f";
  std::array<std::string, 2> params;
  for (std::size_t p = 0; p < normalization.scalars.size() && p < 2; ++p)
    params.at(p) = fmt::format("args.scalars[{}]", normalization.scalars[p]);
  const ChainCode after =
      write_chain(spec, ir, *stage + 1, ir.stages.size(), [&](OperandKind kind, int t, bool) {
        return OperandRead{"", fmt::format("__ldg(args.tensors[{}] + {})", t,
                                           kind == OperandKind::channel ? "channel" : "index")};
      });
  code += fmt::format(
      "  __device__ __forceinline__ void apply_channels(float (&v)[CO], int channel0, int index0, "
      "int plane) const {{\n"
      "    static_assert(CO >= {0}, \"a thread holds every channel\");\n"
      "{1}"
      "    {2} s;  // {3}(dim=1) over the {0} channels\n"
      "#pragma unroll\n    for (int c = 0; c < {0}; ++c) {{\n"
      "      const float x = v[c];\n      s.add({4});\n    }}\n"
      "#pragma unroll\n    for (int c = 0; c < {0}; ++c) {{\n"
      "      [[maybe_unused]] const int channel = channel0 + c;\n"
      "      [[maybe_unused]] const long long index = index0 + static_cast<long long>(c) * plane;\n"
      "      float x = v[c];\n      x = {5};\n{6}      v[c] = x;\n    }}\n  }}\n",
      channels, after.loads, statistic_type(info.statistic), op.name,
      fmt::format(fmt::runtime(info.input), fmt::arg("x", "x")),
      fmt::format(fmt::runtime(info.result), fmt::arg("x", "x"), fmt::arg("s", "s"),
                  fmt::arg("n", n), fmt::arg("p0", params[0]), fmt::arg("p1", params[1])),
      after.body);
  return code;
}

}  // namespace

std::string emit_epilogue(const Spec& spec) {
  if (spec.main.is_conv()) return emit_conv_epilogue(spec);
  const DataType type = spec.main.dtype;
  const ChainIR ir = compile_chain(spec);
  bool uses_m = false, uses_n = false;
  const ChainCode chain = write_chain(
      spec, ir, 0, ir.stages.size(), [&](OperandKind kind, int t, bool write) -> OperandRead {
        const std::string pointer = tensor_pointer(t, type);
        if (write) {  // save: the W values, stored together as the output's are
          uses_m = uses_n = true;
          return {fmt::format("    float t{}[W];\n", t), fmt::format("t{}[j] = x", t),
                  fmt::format("    ft::store_floats<W>({} + static_cast<long long>(m) * {} + n, "
                              "t{});\n",
                              written_tensor_pointer(t, type), spec.main.n, t)};
        }
        switch (kind) {
          case OperandKind::column:
            uses_n = true;
            return {fmt::format("    float t{0}[W];\n    ft::load_floats<W>(t{0}, {1} + n);\n", t,
                                pointer),
                    fmt::format("t{}[j]", t)};
          case OperandKind::row:
            uses_m = true;
            // One value: __ldg reads fp32, ft::load_float widens 16-bit data.
            return {fmt::format("    const float t{0} = {1}({2} + m);\n", t,
                                type == DataType::fp32 ? "__ldg" : "ft::load_float", pointer),
                    fmt::format("t{}", t)};
          default:  // tensor
            uses_m = uses_n = true;
            return {fmt::format("    float t{0}[W];\n"
                                "    ft::load_floats<W>(t{0}, {2} + static_cast<long long>(m) * "
                                "{1} + n);\n",
                                t, spec.main.n, pointer),
                    fmt::format("t{}[j]", t)};
        }
      });

  std::string code = "struct Epilogue {\n  const ft::LaunchArgs& args;\n\n  template <int W>\n";
  code += fmt::format(
      "  __device__ __forceinline__ void apply(float (&v)[W], {}int m, {}int n) const {{\n",
      unused_unless(uses_m), unused_unless(uses_n));
  if (!ir.stages.empty()) {
    code += chain.loads;
    code += "#pragma unroll\n    for (int j = 0; j < W; ++j) {\n      float x = v[j];\n";
    code += chain.body;
    code += "      v[j] = x;\n    }\n";
    code += chain.stores;
  }
  code += "  }\n};\n";
  return code;
}

std::string emit_conv_epilogue(const Spec& spec) {
  const ChainIR ir = compile_chain(spec);
  // The pool step, if any, splits the chain, or a normalization over the channels does (then
  // there is no pool step); every other stage is elementwise.
  std::size_t split = ir.stages.size();
  std::optional<std::size_t> channels;
  for (std::size_t i = 0; i < ir.stages.size(); ++i) {
    if (std::holds_alternative<PoolOp>(ir.stages[i].op)) split = i;
    if (std::holds_alternative<ReductionOp>(ir.stages[i].op)) split = *(channels = i);
  }
  // One element at a time: the value's output channel and its offset in its tensor.
  auto function = [&](std::string_view name, std::size_t first, std::size_t last) {
    bool uses_channel = false, uses_index = false;
    const ChainCode chain =
        write_chain(spec, ir, first, last, [&](OperandKind kind, int t, bool write) -> OperandRead {
          if (write) {  // save: one element at its index
            uses_index = true;
            return {"", fmt::format("{}[index] = {}", written_tensor_pointer(t, spec.main.dtype),
                                    spec.main.dtype == DataType::fp32
                                        ? "x"
                                        : fmt::format("ft::from_float<{}>(x)",
                                                      cuda_type(spec.main.dtype)))};
          }
          if (kind == OperandKind::channel) {
            uses_channel = true;
            return {"", fmt::format("__ldg(args.tensors[{}] + channel)", t)};
          }
          uses_index = true;  // a tensor of the value's shape
          return {"", fmt::format("__ldg(args.tensors[{}] + index)", t)};
        });
    std::string code = fmt::format(
        "  __device__ __forceinline__ void {}(float& value, {}int channel, {}long long index) "
        "const {{\n",
        name, unused_unless(uses_channel), unused_unless(uses_index));
    if (first < last) {
      code += chain.loads + "    {\n      float x = value;\n" + chain.body;
      code += "      value = x;\n    }\n" + chain.stores;
    }
    return code + "  }\n";
  };
  std::string code = "struct Epilogue {\n  const ft::LaunchArgs& args;\n\n";
  code +=
      "  // The ops before the pool step (all of them without one), on one convolution output.\n";
  code += function("apply", 0, split);
  code += channel_normalization(spec, ir, channels);
  code += "  // The ops after the pool step, on one pooled value.\n";
  code +=
      function("apply_pooled", channels ? ir.stages.size() : std::min(split + 1, ir.stages.size()),
               ir.stages.size());
  return code + "};\n";
}

}  // namespace fusetune
