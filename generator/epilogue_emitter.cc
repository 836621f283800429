#include "generator/epilogue_emitter.h"

#include <fmt/format.h>

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
  return parts;
}

}  // namespace

std::string emit_epilogue(const Spec& spec) {
  const DataType type = spec.main.dtype;
  const std::vector<std::string> texts = op_texts(spec);
  std::string loads;  // operand reads, before the per-element loop
  std::string body;   // one statement per op
  bool uses_m = false, uses_n = false;
  int tensor = 2;  // tensors[0] and tensors[1] are the main op's inputs
  int scalar = 0;
  for (std::size_t i = 0; i < spec.epilogue.size(); ++i) {
    const EpilogueOp& op = spec.epilogue[i];
    const EpilogueOpInfo& info = *find_epilogue_op(op.name);
    std::string y;  // the second input of a binary op, per element
    const OperandKind operand =
        info.fixed_operand != OperandKind::none ? info.fixed_operand : op.operand;
    switch (operand) {
      case OperandKind::none:
        break;
      case OperandKind::scalar:
        y = fmt::format("s{}", scalar);
        loads += fmt::format("    const float s{0} = args.scalars[{0}];\n", scalar++);
        break;
      case OperandKind::column:
        y = fmt::format("t{}[j]", tensor);
        loads += fmt::format("    float t{0}[W];\n    ft::load_floats<W>(t{0}, {1} + n);\n", tensor,
                             tensor_pointer(tensor, type));
        ++tensor;
        uses_n = true;
        break;
      case OperandKind::row:
        y = fmt::format("t{}", tensor);
        // One value: __ldg reads fp32, ft::load_float widens 16-bit data.
        loads += fmt::format("    const float t{0} = {1}({2} + m);\n", tensor,
                             type == DataType::fp32 ? "__ldg" : "ft::load_float",
                             tensor_pointer(tensor, type));
        ++tensor;
        uses_m = true;
        break;
      case OperandKind::tensor:
        y = fmt::format("t{}[j]", tensor);
        loads += fmt::format(
            "    float t{0}[W];\n"
            "    ft::load_floats<W>(t{0}, {2} + static_cast<long long>(m) * {1} + n);\n",
            tensor, spec.main.n, tensor_pointer(tensor, type));
        ++tensor;
        uses_m = uses_n = true;
        break;
    }
    std::vector<std::string> params;
    for (std::size_t p = 0; p < info.params.size(); ++p) {
      params.push_back(fmt::format("s{}", scalar));
      loads += fmt::format("    const float s{0} = args.scalars[{0}];\n", scalar++);
    }
    params.resize(2);  // unused placeholders format to nothing
    const std::string expression =
        fmt::format(fmt::runtime(info.cuda.at(op.mode)), fmt::arg("x", "x"), fmt::arg("y", y),
                    fmt::arg("p0", params[0]), fmt::arg("p1", params[1]));
    body += fmt::format("      x = {};  // {}\n", expression, texts.at(i));
  }

  std::string code = "struct Epilogue {\n  const ft::LaunchArgs& args;\n\n  template <int W>\n";
  code += fmt::format(
      "  __device__ __forceinline__ void apply(float (&v)[W], {}int m, {}int n) const {{\n",
      uses_m ? "" : "[[maybe_unused]] ", uses_n ? "" : "[[maybe_unused]] ");
  if (!spec.epilogue.empty()) {
    code += loads;
    code += "#pragma unroll\n    for (int j = 0; j < W; ++j) {\n      float x = v[j];\n";
    code += body;
    code += "      v[j] = x;\n    }\n";
  }
  code += "  }\n};\n";
  return code;
}

}  // namespace fusetune
