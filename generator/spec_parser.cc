#include "generator/spec_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "generator/conv_rules.h"
#include "generator/ops.h"
#include "generator/spec_lexer.h"
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

constexpr int kMaxWindow = 1024;  // kernel, stride, padding, dilation of convolutions and pools
const std::set<std::string_view> kConvPerDimension = {"kernel", "stride", "padding", "dilation",
                                                      "output_padding"};

std::array<int, 3> per_dimension_default(std::string_view name) {
  if (name == "padding" || name == "output_padding") return {0, 0, 0};
  return {1, 1, 1};
}

const std::vector<std::string_view> kMainOpNames = {
    "linear", "matmul", "conv2d", "conv3d", "conv_transpose2d", "conv_transpose3d"};
const std::vector<std::string_view> kPoolNames = {"max_pool2d", "max_pool3d", "avg_pool2d",
                                                  "avg_pool3d", "global_avg_pool"};

bool is_pool_name(std::string_view name) {
  return std::find(kPoolNames.begin(), kPoolNames.end(), name) != kPoolNames.end();
}

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

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), lexer_(text) {}

  Spec parse() {
    if (lexer_.peek().kind == TokenKind::end) {
      fail("the spec is empty: write a main op, such as linear(m=1024, n=1024, k=1024)",
           text_.size());
    }
    Spec spec;
    spec.main = parse_main_op();
    while (true) {
      const Token separator = lexer_.take();
      if (separator.kind == TokenKind::end) break;
      if (separator.kind != TokenKind::arrow) {
        const std::string_view previous =
            spec.epilogue.empty() ? main_op_name(spec.main.kind) : spec.epilogue.back().name;
        fail(fmt::format("expected '->' or the end of the spec after {}", previous),
             separator.position);
      }
      const Token& next = lexer_.peek();
      const std::size_t op_position = next.position;
      if (next.kind == TokenKind::name && is_pool_name(next.text)) {
        parse_pool(spec);
      } else {
        spec.epilogue.push_back(parse_epilogue_op(spec));
      }
      check_limits(spec, op_position);
    }
    return spec;
  }

 private:
  [[noreturn]] void fail(std::string_view problem, std::size_t position) const {
    throw SpecError(problem, text_, position);
  }

  // Checked after each op, so that the error points at the op that breaks a limit.
  void check_limits(const Spec& spec, std::size_t position) const {
    const std::size_t tensors = spec.tensors().size();
    const std::size_t scalars = spec.scalars().size();
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

  // --- Tokens ---

  // Takes the next token when it is a `kind`.
  bool accept(TokenKind kind) {
    if (lexer_.peek().kind != kind) return false;
    lexer_.take();
    return true;
  }

  Token expect(TokenKind kind, std::string_view problem) {
    if (lexer_.peek().kind != kind) fail(problem, lexer_.peek().position);
    return lexer_.take();
  }

  // --- The main op ---

  MainOp parse_main_op() {
    const Token name = lexer_.take();
    const std::string main_ops = fmt::format("{}", fmt::join(kMainOpNames, ", "));
    if (name.kind != TokenKind::name)
      fail(fmt::format("expected a main op: {}", main_ops), name.position);
    MainOp main;
    const auto known = std::find(kMainOpNames.begin(), kMainOpNames.end(), name.text);
    if (known != kMainOpNames.end()) {
      main.kind = static_cast<MainOpKind>(known - kMainOpNames.begin());
    } else if (find_epilogue_op(name.text) != nullptr || is_pool_name(name.text)) {
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
    if (lexer_.peek().kind != TokenKind::close) {
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
    if (main.is_conv()) {
      if (main.dtype != DataType::fp32)
        fail(fmt::format("{} takes fp32 tensors; 16-bit convolutions are not supported yet", op),
             dtype_position_);
      if (const std::optional<ConvProblem> problem = conv_problem(main))
        fail(problem->message, argument_positions_.at(problem->argument));
    }
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
    const Token argument = lexer_.take();
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
    argument_positions_[std::string(argument.text)] = lexer_.peek().position;
    if (main.is_conv() && kConvPerDimension.contains(argument.text)) {
      set_per_dimension(main, argument.text);
      return;
    }
    set_main_argument(main, argument.text, lexer_.take());
  }

  // A convolution's per-dimension value: one integer for every dimension, or one each, as in
  // kernel=(1, 3, 3).
  void set_per_dimension(MainOp& main, std::string_view name) {
    const int dims = main.spatial_dims();
    const int minimum = name == "padding" || name == "output_padding" ? 0 : 1;
    std::array<int, 3> values = per_dimension_default(name);
    if (accept(TokenKind::open)) {
      for (int i = 3 - dims; i < 3; ++i) {
        if (i > 3 - dims)
          expect(TokenKind::comma,
                 fmt::format("expected ',' between the {} values of {}: write one per spatial "
                             "dimension",
                             dims, name));
        values[i] = per_dimension_value(name, minimum);
      }
      expect(TokenKind::close,
             fmt::format("expected ')' after the {} values of {} (one per spatial dimension)", dims,
                         name));
    } else {
      const int value = per_dimension_value(name, minimum);
      for (int i = 3 - dims; i < 3; ++i) values[i] = value;
    }
    ConvGeometry& c = main.conv;
    (name == "kernel"     ? c.kernel
     : name == "stride"   ? c.stride
     : name == "padding"  ? c.padding
     : name == "dilation" ? c.dilation
                          : c.output_padding) = values;
  }

  int per_dimension_value(std::string_view name, int minimum) {
    const Token value = lexer_.take();
    return static_cast<int>(integer(value,
                                    fmt::format("{} must be an integer from {} to {} (or one "
                                                "per spatial dimension in parentheses)",
                                                name, minimum, kMaxWindow),
                                    minimum, kMaxWindow));
  }

  // Reads an integer in [minimum, maximum], or fails with `problem` at the token.
  std::int64_t integer(const Token& value, const std::string& problem, std::int64_t minimum,
                       std::int64_t maximum) const {
    if (value.kind != TokenKind::number) fail(problem, value.position);
    const std::string_view digits = value.text.starts_with('+') ? value.text.substr(1) : value.text;
    std::int64_t result = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), result);
    if (error != std::errc() || end != digits.data() + digits.size() || result < minimum ||
        result > maximum) {
      fail(problem, value.position);
    }
    return result;
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

  // --- Pooling ---

  // max_pool3d(kernel[, stride[, padding]]), names kernel (or kernel_size), stride, padding;
  // global_avg_pool bare.
  void parse_pool(Spec& spec) {
    const Token name = lexer_.take();
    const int dims = spec.main.spatial_dims();
    if (dims == 0)
      fail(fmt::format("{} pools the spatial dimensions of a convolution; {} has none", name.text,
                       main_op_name(spec.main.kind)),
           name.position);
    if (spec.pool)
      fail(fmt::format("a spec pools once; this is its second pool step ({} before)",
                       print_pool_name(*spec.pool, dims)),
           name.position);
    PoolOp pool;
    pool.position = spec.epilogue.size();
    if (name.text == "global_avg_pool") {
      pool.kind = PoolKind::global_avg;
      if (lexer_.peek().kind == TokenKind::open)
        fail("global_avg_pool takes no arguments: write it without parentheses",
             lexer_.peek().position);
      spec.pool = pool;
      return;
    }
    pool.kind = name.text.starts_with("max") ? PoolKind::max : PoolKind::avg;
    if (name.text[name.text.size() - 2] - '0' != dims)
      fail(fmt::format("{} follows a {}-d convolution: write {}_pool{}d", name.text, dims,
                       pool.kind == PoolKind::max ? "max" : "avg", dims),
           name.position);
    parse_pool_arguments(pool, name, dims);
    if (const std::optional<PoolProblem> problem = pool_problem(spec.main, pool))
      fail(problem->message, name.position);
    spec.pool = pool;
  }

  void parse_pool_arguments(PoolOp& pool, const Token& name, int dims) {
    const std::string usage =
        fmt::format("write {0}(2) or {0}(kernel=3, stride=2, padding=1)", name.text);
    expect(TokenKind::open, fmt::format("{} needs a window: {}", name.text, usage));
    static constexpr std::array<std::string_view, 3> kOrder = {"kernel", "stride", "padding"};
    std::set<std::string_view> given;
    std::size_t positional = 0;
    std::optional<std::array<int, 3>> kernel, stride, padding;
    do {
      std::string_view argument;
      const Token& first = lexer_.peek();
      if (first.kind == TokenKind::name) {
        const Token label = lexer_.take();
        argument = label.text == "kernel_size" ? "kernel" : label.text;
        if (std::find(kOrder.begin(), kOrder.end(), argument) == kOrder.end())
          fail(fmt::format("unknown argument '{}' of {}: {}", label.text, name.text, usage),
               label.position);
        expect(TokenKind::equals, fmt::format("expected '=' after {}", label.text));
        positional = kOrder.size();  // no positional argument after a named one
      } else {
        if (positional == kOrder.size())
          fail(fmt::format("too many or misplaced arguments for {}: {}", name.text, usage),
               first.position);
        argument = kOrder[positional++];
      }
      if (!given.insert(argument).second)
        fail(fmt::format("{} of {} is given twice", argument, name.text), first.position);
      std::optional<std::array<int, 3>>& slot = argument == "kernel"   ? kernel
                                                : argument == "stride" ? stride
                                                                       : padding;
      slot = pool_window_values(argument, dims);
    } while (accept(TokenKind::comma));
    const Token close =
        expect(TokenKind::close, fmt::format("expected ',' or ')' in {}: {}", name.text, usage));
    if (!kernel) fail(fmt::format("{} needs its kernel: {}", name.text, usage), close.position);
    pool.kernel = *kernel;
    pool.stride = stride.value_or(*kernel);
    pool.padding = padding.value_or(std::array<int, 3>{0, 0, 0});
  }

  // One value for every dimension, or one each in parentheses; d is 1 (0 for padding) in 2-d.
  std::array<int, 3> pool_window_values(std::string_view name, int dims) {
    const int minimum = name == "padding" ? 0 : 1;
    std::array<int, 3> values = per_dimension_default(name);
    if (accept(TokenKind::open)) {
      for (int i = 3 - dims; i < 3; ++i) {
        if (i > 3 - dims)
          expect(TokenKind::comma,
                 fmt::format("expected ',' between the {} values of {}", dims, name));
        values[i] = per_dimension_value(name, minimum);
      }
      expect(TokenKind::close, fmt::format("expected ')' after the {} values of {}", dims, name));
      return values;
    }
    const int value = per_dimension_value(name, minimum);
    for (int i = 3 - dims; i < 3; ++i) values[i] = value;
    return values;
  }

  static std::string print_pool_name(const PoolOp& pool, int dims) {
    if (pool.kind == PoolKind::global_avg) return "global_avg_pool";
    return fmt::format("{}_pool{}d", pool.kind == PoolKind::max ? "max" : "avg", dims);
  }

  EpilogueOp parse_epilogue_op(const Spec& spec) {
    const Token name = lexer_.take();
    if (name.kind != TokenKind::name) fail("expected an epilogue op after '->'", name.position);
    const EpilogueOpInfo* info = find_epilogue_op(name.text);
    if (info == nullptr) fail_unknown_op(name);
    // The registry's name, not the spec's text, is what may reach generated code.
    EpilogueOp op;
    op.name = info->name;
    if (info->fixed_operand != OperandKind::none) {
      if (lexer_.peek().kind == TokenKind::open) {
        fail(fmt::format("{} takes no arguments: write it without parentheses", info->name),
             lexer_.peek().position);
      }
      // bias is per output channel: a column of a GEMM, a channel of a convolution.
      op.operand = spec.main.is_conv() ? OperandKind::channel : info->fixed_operand;
      return op;
    }
    const ArgumentList list = parse_arguments(*info, name);
    if (info->binary) {
      set_binary_operand(op, *info, list);
      check_operand(spec, op, list.arguments[0].value);
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
    std::vector<std::string_view> names = ops;
    names.insert(names.end(), kPoolNames.begin(), kPoolNames.end());
    if (const auto suggestion = closest_name(name.text, names)) {
      fail(fmt::format("unknown op '{}'; did you mean '{}'?", name.text, *suggestion),
           name.position);
    }
    fail(fmt::format("unknown op '{}'; the epilogue ops are {}, and the pool steps {}", name.text,
                     fmt::join(ops, ", "), fmt::join(kPoolNames, ", ")),
         name.position);
  }

  ArgumentList parse_arguments(const EpilogueOpInfo& info, const Token& name) {
    ArgumentList list;
    list.end_position = name.position + name.text.size();
    if (lexer_.peek().kind != TokenKind::open) return list;
    lexer_.take();
    if (lexer_.peek().kind != TokenKind::close) {
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
    const Token first = lexer_.take();
    if (first.kind == TokenKind::name && lexer_.peek().kind == TokenKind::equals) {
      lexer_.take();
      const Token value = lexer_.take();
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

  // Operands that the main op or the pool step rule out.
  void check_operand(const Spec& spec, const EpilogueOp& op, const Token& value) const {
    const bool conv = spec.main.is_conv();
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
    if (op.operand == OperandKind::main && spec.pool)
      fail("main is the main op's result before pooling; use it before the pool step",
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

  std::string_view text_;
  Lexer lexer_;
  std::optional<DataType> out_dtype_;  // the main op's out_dtype, as written
  std::size_t out_dtype_position_ = 0;
  std::size_t dtype_position_ = 0;
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

Spec parse_spec(std::string_view text) { return Parser(text).parse(); }

}  // namespace fusetune
