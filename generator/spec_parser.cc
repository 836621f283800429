#include "generator/spec_parser.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "generator/chain_ir.h"
#include "generator/conv_rules.h"
#include "generator/gemm_rules.h"
#include "generator/ops.h"
#include "generator/spec_lexer.h"
#include "generator/spec_reader.h"
#include "generator/spec_reductions.h"
#include "generator/spec_windows.h"
#include "generator/spelling.h"

namespace fusetune {
namespace {

constexpr std::int64_t kMaxExtent = std::numeric_limits<std::int32_t>::max();
// PyTorch's name for gelu's mode argument, where "none" names the default (erf) mode.
constexpr std::string_view kModeArgument = "approximate";
constexpr std::string_view kDefaultModeAlias = "none";

struct Argument {
  std::optional<Token> name;  // set for name=value
  Token value;
};

// The arguments of an epilogue op, and where a missing one would go: its ')', or just after the
// op's name when it has no parentheses.
struct ArgumentList {
  std::vector<Argument> arguments;
  std::size_t end_position = 0;
};

std::vector<std::string_view> epilogue_op_names() {
  std::vector<std::string_view> names;
  for (const EpilogueOpInfo& op : epilogue_ops()) names.push_back(op.name);
  return names;
}

const std::vector<std::string_view> kMainOpNames = {
    "linear", "matmul", "conv2d", "conv3d", "conv_transpose2d", "conv_transpose3d"};

// The named arguments of each main op, in canonical order.
std::vector<std::string_view> main_arguments(MainOpKind kind) {
  switch (kind) {
    case MainOpKind::linear:
      return {"m", "n", "k", "dtype", "out_dtype"};
    case MainOpKind::matmul:
      return {"m", "n", "k", "transpose_a", "transpose_b", "dtype", "out_dtype"};
    case MainOpKind::conv2d:
      return {"n",      "c",       "h",        "w",      "k",    "kernel",
              "stride", "padding", "dilation", "groups", "dtype"};
    case MainOpKind::conv3d:
      return {"n",      "c",      "d",       "h",        "w",      "k",
              "kernel", "stride", "padding", "dilation", "groups", "dtype"};
    case MainOpKind::conv_transpose2d:
      return {"n",
              "c",
              "h",
              "w",
              "k",
              "kernel",
              "stride",
              "padding",
              "dilation",
              "groups",
              "output_padding",
              "dtype"};
    case MainOpKind::conv_transpose3d:
      return {"n",      "c",      "d",       "h",        "w",      "k",
              "kernel", "stride", "padding", "dilation", "groups", "output_padding",
              "dtype"};
  }
  return {};
}

// The arguments a main op cannot do without.
std::vector<std::string_view> required_arguments(const MainOp& main) {
  if (!main.is_conv()) return {"m", "n", "k"};
  if (main.spatial_dims() == 3) return {"n", "c", "d", "h", "w", "k", "kernel"};
  return {"n", "c", "h", "w", "k", "kernel"};
}

// How to write an op's arguments, for messages: "leaky_relu(negative_slope=0.01)".
std::string usage(const EpilogueOpInfo& op) {
  if (op.fixed_operand != OperandKind::none) return std::string(op.name);
  if (op.binary)
    return fmt::format("{0}(2.0), {0}(column), {0}(row), {0}(tensor), {0}(channel) or {0}(main)",
                       op.name);
  std::vector<std::string> arguments;
  if (!op.modes.empty()) arguments.push_back(fmt::format("{}", fmt::join(op.modes, "|")));
  for (const OpParam& param : op.params) {
    arguments.push_back(
        param.required ? std::string(param.name)
                       : fmt::format("{}={}", param.name, canonical_number(param.default_value)));
  }
  if (arguments.empty()) return std::string(op.name);
  return fmt::format("{}({})", op.name, fmt::join(arguments, ", "));
}

class Parser : SpecReader {
 public:
  explicit Parser(std::string_view text) : SpecReader(text) {}

  Spec parse() {
    if (peek().kind == TokenKind::end) {
      fail("the spec is empty: write a main op, such as linear(m=1024, n=1024, k=1024)",
           text().size());
    }
    Spec spec;
    spec.main = parse_main_op();
    ChainIR ir = start_chain(spec.main);
    while (true) {
      const Token separator = take();
      if (separator.kind == TokenKind::end) break;
      if (separator.kind != TokenKind::arrow) {
        fail(fmt::format("expected '->' or the end of the spec after {}", last_op_name(spec)),
             separator.position);
      }
      const Token& next = peek();
      const std::size_t op_position = next.position;
      ChainOp op;
      if (next.kind == TokenKind::name && is_pool_name(next.text)) {
        op = read_pool_step(*this, ir);
      } else if (const ReductionOpInfo* reduction =
                     next.kind == TokenKind::name ? reduction_named(*this, next) : nullptr) {
        const Token name = take();
        op = read_reduction_op(*this, ir, *reduction, name);
      } else {
        op = parse_epilogue_op(ir);
      }
      if (spec.main.is_row_range() && !std::holds_alternative<EpilogueOp>(op))
        fail(fmt::format("a bucket of row counts (m={}..{}) takes elementwise ops only: reductions "
                         "and normalizations are tuned per shape; write one m",
                         spec.main.m_min, spec.main.m),
             op_position);
      spec.chain.push_back(op);
      append_stage(ir, op);
      check_limits(ir, op_position);
    }
    return spec;
  }

 private:
  // The name of the op read last, for messages.
  static std::string last_op_name(const Spec& spec) {
    if (spec.chain.empty()) return std::string(main_op_name(spec.main.kind));
    const ChainOp& op = spec.chain.back();
    if (const auto* e = std::get_if<EpilogueOp>(&op)) return e->name;
    if (const auto* pool = std::get_if<PoolOp>(&op))
      return pool_step_name(*pool, spec.main.spatial_dims());
    return std::get<ReductionOp>(op).name;
  }

  // Checked after each op, so that the error points at the op that breaks a limit.
  void check_limits(const ChainIR& ir, std::size_t position) const {
    const std::size_t tensors = ir.tensors.size();
    const std::size_t scalars = ir.scalars.size();
    if (tensors > kMaxSpecTensors) {
      fail(fmt::format("too many tensors: {} with this op, and a kernel takes at most {} "
                       "(main-op operands included)",
                       tensors, kMaxSpecTensors),
           position);
    }
    if (scalars > kMaxSpecScalars) {
      fail(fmt::format("too many scalars: {} with this op, and a kernel takes at most {}", scalars,
                       kMaxSpecScalars),
           position);
    }
  }

  // --- The main op ---

  MainOp parse_main_op() {
    const Token name = take();
    const std::string main_ops = fmt::format("{}", fmt::join(kMainOpNames, ", "));
    if (name.kind != TokenKind::name)
      fail(fmt::format("expected a main op: {}", main_ops), name.position);
    MainOp main;
    const auto known = std::find(kMainOpNames.begin(), kMainOpNames.end(), name.text);
    if (known != kMainOpNames.end()) {
      main.kind = static_cast<MainOpKind>(known - kMainOpNames.begin());
    } else if (find_epilogue_op(name.text) != nullptr || is_pool_name(name.text) ||
               find_reduction_op(name.text) != nullptr) {
      fail(fmt::format("{} is an epilogue op; a spec starts with a main op: {}", name.text,
                       main_ops),
           name.position);
    } else {
      const auto suggestion = closest_name(name.text, kMainOpNames);
      fail(suggestion
               ? fmt::format("unknown main op '{}'; did you mean '{}'?", name.text, *suggestion)
               : fmt::format("unknown main op '{}'; the main ops are {}", name.text, main_ops),
           name.position);
    }
    expect(TokenKind::open,
           main.is_conv()
               ? fmt::format("expected '(' after {0}: write {0}(n=..., c=..., ..., kernel=...)",
                             name.text)
               : fmt::format("expected '(' after {0}: write {0}(m=..., n=..., k=...)", name.text));
    parse_main_arguments(main);
    return main;
  }

  // name=value, ... ), in any order.
  void parse_main_arguments(MainOp& main) {
    const std::string_view op = main_op_name(main.kind);
    const std::vector<std::string_view> allowed = main_arguments(main.kind);
    std::vector<std::string_view> given;
    if (peek().kind != TokenKind::close) {
      do parse_main_argument(main, allowed, given);
      while (accept(TokenKind::comma));
    }
    const Token close =
        expect(TokenKind::close, fmt::format("expected ',' or ')' after an argument of {}", op));
    const std::vector<std::string_view> required = required_arguments(main);
    for (std::string_view name : required) {
      if (std::find(given.begin(), given.end(), name) == given.end()) {
        fail(fmt::format("missing argument {} of {}; it needs {} and {}", name, op,
                         fmt::join(required.begin(), required.end() - 1, ", "), required.back()),
             close.position);
      }
    }
    if (main.is_row_range() && main.transpose_a)
      fail(
          "a bucket of row counts needs a stored [M, K] (a transposed a strides by its rows, "
          "which are fixed per shape): write one m, or transpose_a=false",
          range_position_);
    if (main.is_conv() && main.dtype != DataType::fp32)
      fail(fmt::format("{} takes fp32 tensors; 16-bit convolutions are not supported yet", op),
           dtype_position_);
    if (const std::optional<MainOpProblem> problem =
            main.is_conv() ? conv_problem(main) : gemm_problem(main))
      fail(problem->message, argument_positions_.at(problem->argument));
    if (out_dtype_ && *out_dtype_ != main.dtype && *out_dtype_ != DataType::fp32) {
      fail(fmt::format("out_dtype must be the inputs' type ({}) or fp32", to_string(main.dtype)),
           out_dtype_position_);
    }
    // Written as the inputs' type, it is the default and prints as nothing.
    main.fp32_output = out_dtype_ && *out_dtype_ != main.dtype;
  }

  // One name=value; `given` collects the names so far.
  void parse_main_argument(MainOp& main, const std::vector<std::string_view>& allowed,
                           std::vector<std::string_view>& given) {
    const std::string_view op = main_op_name(main.kind);
    const Token argument = take();
    if (argument.kind != TokenKind::name) {
      fail(fmt::format("expected an argument of {}: {}", op, fmt::join(allowed, ", ")),
           argument.position);
    }
    if (std::find(allowed.begin(), allowed.end(), argument.text) == allowed.end()) {
      const bool transpose =
          main.kind == MainOpKind::linear && argument.text.starts_with("transpose");
      const bool padding = argument.text == "output_padding";
      fail(transpose ? fmt::format("{} takes no '{}': use matmul for transposed operands", op,
                                   argument.text)
           : padding
               ? fmt::format("{} takes no output_padding: only transposed convolutions do", op)
               : fmt::format("unknown argument '{}' of {}; its arguments are {}", argument.text, op,
                             fmt::join(allowed, ", ")),
           argument.position);
    }
    if (std::find(given.begin(), given.end(), argument.text) != given.end()) {
      fail(fmt::format("duplicate argument '{}' of {}", argument.text, op), argument.position);
    }
    given.push_back(argument.text);
    expect(TokenKind::equals,
           fmt::format("expected '=' after {}: main-op arguments are named, as in {}=1",
                       argument.text, argument.text));
    argument_positions_[std::string(argument.text)] = peek().position;
    if (main.is_conv() && is_window_argument(argument.text)) {
      ConvGeometry& c = main.conv;
      const std::string_view name = argument.text;
      (name == "kernel"     ? c.kernel
       : name == "stride"   ? c.stride
       : name == "padding"  ? c.padding
       : name == "dilation" ? c.dilation
                            : c.output_padding) = read_window(*this, name, main.spatial_dims());
      return;
    }
    const Token value = take();
    set_main_argument(main, argument.text, value);
    if (peek().kind == TokenKind::range) read_row_range(main, argument.text, value);
  }

  // The top of a range lo..hi whose low end `low` set_main_argument read: a bucket of row
  // counts, which only a GEMM's m may be.
  void read_row_range(MainOp& main, std::string_view name, const Token& low) {
    const Token dots = take();
    if (main.is_conv())
      fail(fmt::format("{} takes one batch size: buckets of row counts are for linear and matmul",
                       main_op_name(main.kind)),
           dots.position);
    if (name != "m")
      fail(fmt::format("only m, the rows, may be a range (a bucket of row counts): write one {}",
                       name),
           dots.position);
    const Token top = take();
    const std::int64_t high =
        integer(top,
                fmt::format("expected the top of the range m={}..: an integer from 1 to {}", main.m,
                            kMaxExtent),
                1, kMaxExtent);
    if (high < main.m)
      fail(fmt::format("the range m={}..{} runs backwards: write the smaller row count first",
                       main.m, high),
           low.position);
    if (high == main.m)
      fail(fmt::format("the range m={0}..{0} holds one row count: write m={0}", high),
           top.position);
    main.m_min = main.m;
    main.m = high;
    range_position_ = dots.position;
    argument_positions_["m"] = top.position;  // a size limit is the top's
  }

  void set_main_argument(MainOp& main, std::string_view name, const Token& value) {
    if (name == "dtype" || name == "out_dtype") {
      const std::optional<DataType> type =
          value.kind == TokenKind::name ? data_type_from_string(value.text) : std::nullopt;
      if (!type) fail(fmt::format("{} must be fp32, bf16 or fp16", name), value.position);
      if (name == "dtype")
        main.dtype = *type, dtype_position_ = value.position;
      else
        out_dtype_ = type, out_dtype_position_ = value.position;
      return;
    }
    if (name == "transpose_a" || name == "transpose_b") {
      const bool is_bool =
          value.kind == TokenKind::name && (value.text == "true" || value.text == "false");
      if (!is_bool) fail(fmt::format("{} must be true or false", name), value.position);
      (name == "transpose_a" ? main.transpose_a : main.transpose_b) = value.text == "true";
      return;
    }
    const std::int64_t extent = integer(
        value, fmt::format("{} must be an integer from 1 to {}", name, kMaxExtent), 1, kMaxExtent);
    if (main.is_conv()) {
      ConvGeometry& c = main.conv;
      if (name == "groups") c.groups = static_cast<int>(std::min(extent, kMaxExtent));
      std::int64_t* field = name == "n"   ? &c.batch
                            : name == "c" ? &c.in_channels
                            : name == "k" ? &c.out_channels
                            : name == "d" ? &c.size[0]
                            : name == "h" ? &c.size[1]
                            : name == "w" ? &c.size[2]
                                          : nullptr;
      if (field != nullptr) *field = extent;
      return;
    }
    (name == "m" ? main.m : name == "n" ? main.n : main.k) = extent;
  }

  // --- Epilogue ops ---

  EpilogueOp parse_epilogue_op(const ChainIR& ir) {
    const Token name = take();
    if (name.kind != TokenKind::name) fail("expected an epilogue op after '->'", name.position);
    const EpilogueOpInfo* info = find_epilogue_op(name.text);
    if (info == nullptr) fail_unknown_op(name);
    // The registry's name, not the spec's text, is what may reach generated code.
    EpilogueOp op;
    op.name = info->name;
    if (info->fixed_operand != OperandKind::none) {
      if (peek().kind == TokenKind::open) {
        fail(fmt::format("{} takes no arguments: write it without parentheses", info->name),
             peek().position);
      }
      op.operand = info->fixed_operand;
      if (info->writes_operand) {
        if (!ir.main_value_available)
          fail(fmt::format("{} keeps the value as the main op's kernel computes it, before any "
                           "pool step or reduction; put it before them",
                           info->name),
               name.position);
        return op;
      }
      // bias is per output channel: a column of a GEMM, a channel of a convolution.
      if (ir.main.is_conv()) op.operand = OperandKind::channel;
      const bool fits = ir.main.is_conv() ? has_channels(ir) : has_rows_and_columns(ir);
      if (!fits)
        fail(fmt::format("bias adds a vector per output {}, and the value [{}] has none left",
                         ir.main.is_conv() ? "channel" : "column", fmt::join(ir.shape(), ", ")),
             name.position);
      return op;
    }
    const ArgumentList list = parse_arguments(*info, name);
    if (info->binary) {
      set_binary_operand(op, *info, list);
      check_operand(ir, op, list.arguments[0].value);
    } else {
      set_unary_arguments(op, *info, list);
    }
    return op;
  }

  [[noreturn]] void fail_unknown_op(const Token& name) {
    if (std::find(kMainOpNames.begin(), kMainOpNames.end(), name.text) != kMainOpNames.end()) {
      fail(fmt::format("{} is a main op; only the first op of a spec can be one", name.text),
           name.position);
    }
    const std::vector<std::string_view> ops = epilogue_op_names();
    const std::vector<std::string_view> reductions = reduction_names();
    std::vector<std::string_view> names = ops;
    names.insert(names.end(), pool_names().begin(), pool_names().end());
    names.insert(names.end(), reductions.begin(), reductions.end());
    if (const auto suggestion = closest_name(name.text, names)) {
      fail(fmt::format("unknown op '{}'; did you mean '{}'?", name.text, *suggestion),
           name.position);
    }
    fail(fmt::format("unknown op '{}'; the elementwise ops are {}, the pool steps {}, and the "
                     "reductions {}",
                     name.text, fmt::join(ops, ", "), fmt::join(pool_names(), ", "),
                     fmt::join(reductions, ", ")),
         name.position);
  }

  ArgumentList parse_arguments(const EpilogueOpInfo& info, const Token& name) {
    ArgumentList list;
    list.end_position = name.position + name.text.size();
    if (peek().kind != TokenKind::open) return list;
    take();
    if (peek().kind != TokenKind::close) {
      do list.arguments.push_back(parse_argument(info));
      while (accept(TokenKind::comma));
    }
    list.end_position = expect(TokenKind::close, fmt::format("expected ')' to close the "
                                                             "arguments of {}",
                                                             info.name))
                            .position;
    return list;
  }

  // value, or name=value.
  Argument parse_argument(const EpilogueOpInfo& info) {
    auto is_value = [](const Token& token) {
      return token.kind == TokenKind::name || token.kind == TokenKind::number;
    };
    const Token first = take();
    if (first.kind == TokenKind::name && peek().kind == TokenKind::equals) {
      take();
      const Token value = take();
      if (!is_value(value)) {
        fail(fmt::format("expected a value for {} of {}", first.text, info.name), value.position);
      }
      return {first, value};
    }
    if (!is_value(first)) {
      fail(fmt::format("expected an argument of {}; usage: {}", info.name, usage(info)),
           first.position);
    }
    return {std::nullopt, first};
  }

  void set_binary_operand(EpilogueOp& op, const EpilogueOpInfo& info, const ArgumentList& list) {
    const std::string problem =
        fmt::format("{} needs one argument: write {}", info.name, usage(info));
    if (list.arguments.empty()) fail(problem, list.end_position);
    if (list.arguments.size() > 1) {
      fail(fmt::format("too many arguments for {}: it takes one; write {}", info.name, usage(info)),
           list.arguments[1].value.position);
    }
    const Argument& argument = list.arguments[0];
    if (argument.name) {
      fail(fmt::format("{} takes no named arguments: write {}", info.name, usage(info)),
           argument.name->position);
    }
    const Token& value = argument.value;
    if (value.kind == TokenKind::number) {
      op.operand = OperandKind::scalar;
      op.scalars = {value.number};
      return;
    }
    static constexpr std::array<std::pair<std::string_view, OperandKind>, 5> kKinds = {{
        {"column", OperandKind::column},
        {"row", OperandKind::row},
        {"tensor", OperandKind::tensor},
        {"channel", OperandKind::channel},
        {"main", OperandKind::main},
    }};
    for (const auto& [keyword, kind] : kKinds) {
      if (value.text == keyword) {
        op.operand = kind;
        return;
      }
    }
    fail(fmt::format("unknown operand '{}' of {}: expected a number, column, row, tensor, "
                     "channel or main{}",
                     value.text, info.name, non_finite_hint(value)),
         value.position);
  }

  // Operands that the main op, or the pool steps and reductions before the op, rule out.
  void check_operand(const ChainIR& ir, const EpilogueOp& op, const Token& value) const {
    const bool conv = ir.main.is_conv();
    const std::string shape = fmt::format("[{}]", fmt::join(ir.shape(), ", "));
    if (conv && (op.operand == OperandKind::column || op.operand == OperandKind::row))
      fail(fmt::format("a convolution's output has no {0}s: per-channel vectors are {1}(channel), "
                       "full tensors {1}(tensor)",
                       value.text, op.name),
           value.position);
    if (!conv && op.operand == OperandKind::channel)
      fail(fmt::format("channel vectors belong to convolutions; {} takes column (over N), row "
                       "(over M) or tensor",
                       op.name),
           value.position);
    if ((op.operand == OperandKind::column || op.operand == OperandKind::row) &&
        !has_rows_and_columns(ir))
      fail(fmt::format("{}({}) needs the value's rows and columns, and a reduction left it {}; "
                       "use {}(tensor)",
                       op.name, value.text, shape, op.name),
           value.position);
    if (op.operand == OperandKind::channel && !has_channels(ir))
      fail(fmt::format("{}(channel) needs the value's channels, and a reduction left it {}; use "
                       "{}(tensor)",
                       op.name, shape, op.name),
           value.position);
    if (op.operand == OperandKind::main && !ir.main_value_available)
      fail("main is the main op's result before any pool step or reduction; use it before them",
           value.position);
  }

  // A unary op's arguments as they are read: parameter values by index, and the mode.
  struct UnaryArguments {
    std::vector<std::optional<double>> values;
    std::optional<int> mode;
    std::size_t next_positional = 0;
  };

  void set_unary_arguments(EpilogueOp& op, const EpilogueOpInfo& info, const ArgumentList& list) {
    if (info.params.empty() && info.modes.empty() && !list.arguments.empty()) {
      const Argument& first = list.arguments[0];
      fail(fmt::format("{} takes no arguments: write {}", info.name, info.name),
           first.name ? first.name->position : first.value.position);
    }
    UnaryArguments arguments;
    arguments.values.resize(info.params.size());
    bool named_seen = false;
    for (const Argument& argument : list.arguments) {
      if (argument.name) {
        named_seen = true;
        set_named_argument(arguments, info, *argument.name, argument.value);
      } else if (named_seen) {
        fail(fmt::format("positional argument after a named one; usage: {}", usage(info)),
             argument.value.position);
      } else {
        set_positional_argument(arguments, info, argument.value);
      }
    }
    for (std::size_t i = 0; i < info.params.size(); ++i) {
      const OpParam& param = info.params[i];
      if (!arguments.values[i] && param.required) {
        fail(
            fmt::format("missing argument {} of {}; usage: {}", param.name, info.name, usage(info)),
            list.end_position);
      }
      op.scalars.push_back(arguments.values[i].value_or(param.default_value));
    }
    op.mode = arguments.mode.value_or(0);
  }

  void set_named_argument(UnaryArguments& arguments, const EpilogueOpInfo& info, const Token& name,
                          const Token& value) {
    if (name.text == kModeArgument && !info.modes.empty()) {
      set_mode(arguments.mode, info, value, true, name.position);
      return;
    }
    const auto param = std::find_if(info.params.begin(), info.params.end(),
                                    [&](const OpParam& p) { return p.name == name.text; });
    if (param == info.params.end()) {
      fail(fmt::format("unknown argument '{}' of {}; usage: {}", name.text, info.name, usage(info)),
           name.position);
    }
    std::optional<double>& slot = arguments.values[param - info.params.begin()];
    if (slot) fail(fmt::format("{} of {} is given twice", param->name, info.name), name.position);
    slot = number_for(*param, info, value);
  }

  void set_positional_argument(UnaryArguments& arguments, const EpilogueOpInfo& info,
                               const Token& value) {
    if (value.kind == TokenKind::name && !info.modes.empty()) {
      set_mode(arguments.mode, info, value, false, value.position);
      return;
    }
    if (info.params.empty()) {
      fail(fmt::format("{} takes no numbers; usage: {}", info.name, usage(info)), value.position);
    }
    if (arguments.next_positional == info.params.size()) {
      fail(fmt::format("too many arguments for {}; usage: {}", info.name, usage(info)),
           value.position);
    }
    const std::size_t index = arguments.next_positional++;
    arguments.values[index] = number_for(info.params[index], info, value);
  }

  void set_mode(std::optional<int>& mode, const EpilogueOpInfo& info, const Token& value,
                bool pytorch_spelling, std::size_t position) {
    if (mode) fail(fmt::format("the mode of {} is given twice", info.name), position);
    if (pytorch_spelling && value.text == kDefaultModeAlias) {
      mode = 0;
      return;
    }
    const auto found = std::find(info.modes.begin(), info.modes.end(), value.text);
    if (value.kind != TokenKind::name || found == info.modes.end()) {
      fail(fmt::format("unknown mode '{}' of {}; its modes are {} ({}={} names {})", value.text,
                       info.name, fmt::join(info.modes, ", "), kModeArgument, kDefaultModeAlias,
                       info.modes[0]),
           value.position);
    }
    mode = static_cast<int>(found - info.modes.begin());
  }

  double number_for(const OpParam& param, const EpilogueOpInfo& info, const Token& value) {
    if (value.kind != TokenKind::number) {
      fail(fmt::format("expected a number for {} of {}{}", param.name, info.name,
                       non_finite_hint(value)),
           value.position);
    }
    return value.number;
  }

  static std::string_view non_finite_hint(const Token& value) {
    const std::string word = lowercase(value.text);
    const bool non_finite = word == "nan" || word == "inf" || word == "infinity";
    return non_finite ? "; NaN and infinity are not allowed" : "";
  }

  std::optional<DataType> out_dtype_;  // the main op's out_dtype, as written
  std::size_t out_dtype_position_ = 0;
  std::size_t dtype_position_ = 0;
  std::size_t range_position_ = 0;                                      // of m's "..", in a bucket
  std::map<std::string, std::size_t, std::less<>> argument_positions_;  // main-op values
};

// The spec as it will be shown under the message: control characters (tabs, newlines) become
// spaces so that the caret line stays aligned.
std::string printable(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return line;
}

// The caret's column: characters, not bytes, before `position` (UTF-8 continuation bytes are
// not characters of their own).
std::size_t column_of(std::string_view text, std::size_t position) {
  const std::string_view before = text.substr(0, position);
  return std::count_if(before.begin(), before.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; });
}

}  // namespace

SpecError::SpecError(std::string_view problem, std::string_view text, std::size_t position)
    : Error(StatusCode::invalid_spec,
            fmt::format("invalid spec: {}\n  {}\n  {}^", problem, printable(text),
                        std::string(column_of(text, position), ' '))),
      position_(position) {}

std::string canonical_number(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

Spec parse_spec(std::string_view text) {
  if (text.size() > kMaxSpecBytes) {
    // The message shows the beginning only (cut at a character), with the caret after it.
    std::size_t shown = 64;
    while (shown > 0 && (static_cast<unsigned char>(text[shown]) & 0xc0) == 0x80) --shown;
    throw SpecError(fmt::format("the spec is {} bytes long, and a spec may have at most {} (1 MiB)",
                                text.size(), kMaxSpecBytes),
                    fmt::format("{} ...", text.substr(0, shown)), kMaxSpecBytes);
  }
  return Parser(text).parse();
}

}  // namespace fusetune
