#include "generator/epilogue_emitter.h"

#include <fmt/format.h>

#include <functional>
#include <vector>

#include "generator/kernel_assembly.h"
#include "generator/ops.h"

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
  if (spec.pool) parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(spec.pool->position));
  return parts;
}

// How generated code reads a tensor operand: statements before the element loop, and the
// value's expression inside it.
struct OperandRead {
  std::string load;
  std::string value;
};
using OperandReader = std::function<OperandRead(OperandKind kind, int tensor)>;

// Straight-line code for epilogue ops [first, last): operand reads and one statement per op
// on `x`. Tensors and scalars are numbered on from `tensor` and `scalar`.
struct ChainCode {
  std::string loads;
  std::string body;
};

ChainCode write_chain(const Spec& spec, std::size_t first, std::size_t last, int& tensor,
                      int& scalar, const OperandReader& read) {
  const std::vector<std::string> texts = op_texts(spec);
  bool uses_main = false;
  for (std::size_t i = first; i < last; ++i)
    uses_main = uses_main || spec.epilogue[i].operand == OperandKind::main;
  // main is the layer's output: after a leading bias, else the main op's value itself.
  const bool main_after_bias = !spec.epilogue.empty() && spec.epilogue[0].name == "bias";
  ChainCode chain;
  if (uses_main && !main_after_bias) chain.body += "      const float main_value = x;\n";
  for (std::size_t i = first; i < last; ++i) {
    const EpilogueOp& op = spec.epilogue[i];
    const EpilogueOpInfo& info = *find_epilogue_op(op.name);
    std::string y;  // the second input of a binary op, per element
    switch (op.operand) {
      case OperandKind::none:
        break;
      case OperandKind::scalar:
        y = fmt::format("s{}", scalar);
        chain.loads += fmt::format("    const float s{0} = args.scalars[{0}];\n", scalar++);
        break;
      case OperandKind::main:
        y = "main_value";
        break;
      default: {
        const OperandRead operand = read(op.operand, tensor++);
        chain.loads += operand.load;
        y = operand.value;
      }
    }
    std::vector<std::string> params;
    for (std::size_t p = 0; p < info.params.size(); ++p) {
      params.push_back(fmt::format("s{}", scalar));
      chain.loads += fmt::format("    const float s{0} = args.scalars[{0}];\n", scalar++);
    }
    params.resize(2);  // unused placeholders format to nothing
    const std::string expression =
        fmt::format(fmt::runtime(info.cuda.at(op.mode)), fmt::arg("x", "x"), fmt::arg("y", y),
                    fmt::arg("p0", params[0]), fmt::arg("p1", params[1]));
    chain.body += fmt::format("      x = {};  // {}\n", expression, texts.at(i));
    if (uses_main && main_after_bias && i == 0) chain.body += "      const float main_value = x;\n";
  }
  return chain;
}

// `[[maybe_unused]] ` where a parameter goes unread.
std::string_view unused_unless(bool used) { return used ? "" : "[[maybe_unused]] "; }

}  // namespace

std::string emit_epilogue(const Spec& spec) {
  if (spec.main.is_conv()) return emit_conv_epilogue(spec);
  const DataType type = spec.main.dtype;
  bool uses_m = false, uses_n = false;
  int tensor = 2;  // tensors[0] and tensors[1] are the main op's inputs
  int scalar = 0;
  const ChainCode chain = write_chain(
      spec, 0, spec.epilogue.size(), tensor, scalar, [&](OperandKind kind, int t) -> OperandRead {
        const std::string pointer = tensor_pointer(t, type);
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
  if (!spec.epilogue.empty()) {
    code += chain.loads;
    code += "#pragma unroll\n    for (int j = 0; j < W; ++j) {\n      float x = v[j];\n";
    code += chain.body;
    code += "      v[j] = x;\n    }\n";
  }
  code += "  }\n};\n";
  return code;
}

std::string emit_conv_epilogue(const Spec& spec) {
  const std::size_t split = spec.pool ? spec.pool->position : spec.epilogue.size();
  int tensor = 2;
  int scalar = 0;
  // One element at a time: the value's output channel and its offset in its tensor.
  auto function = [&](std::string_view name, std::size_t first, std::size_t last) {
    bool uses_channel = false, uses_index = false;
    const ChainCode chain =
        write_chain(spec, first, last, tensor, scalar, [&](OperandKind kind, int t) -> OperandRead {
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
      code += "      value = x;\n    }\n";
    }
    return code + "  }\n";
  };
  std::string code = "struct Epilogue {\n  const ft::LaunchArgs& args;\n\n";
  code +=
      "  // The ops before the pool step (all of them without one), on one convolution output.\n";
  code += function("apply", 0, split);
  code += "  // The ops after the pool step, on one pooled value.\n";
  code += function("apply_pooled", split, spec.epilogue.size());
  return code + "};\n";
}

}  // namespace fusetune
