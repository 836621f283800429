#include "generator/spec_windows.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>

#include "generator/conv_rules.h"

namespace fusetune {
namespace {

constexpr int kMaxWindow = 1024;
constexpr std::string_view kPoolNames[] = {"max_pool2d", "max_pool3d", "avg_pool2d", "avg_pool3d",
                                           "global_avg_pool"};

int window_value(SpecReader& reader, std::string_view name, int minimum) {
  const Token value = reader.take();
  return static_cast<int>(reader.integer(
      value,
      fmt::format("{} must be an integer from {} to {} (or one per spatial dimension in "
                  "parentheses)",
                  name, minimum, kMaxWindow),
      minimum, kMaxWindow));
}

// (kernel[, stride[, padding]]), positional or named (kernel_size is PyTorch's name).
void read_pool_arguments(SpecReader& reader, PoolOp& pool, const Token& name, int dims) {
  const std::string usage =
      fmt::format("write {0}(2) or {0}(kernel=3, stride=2, padding=1)", name.text);
  reader.expect(TokenKind::open, fmt::format("{} needs a window: {}", name.text, usage));
  static constexpr std::array<std::string_view, 3> kOrder = {"kernel", "stride", "padding"};
  std::set<std::string_view> given;
  std::size_t positional = 0;
  std::optional<std::array<int, 3>> kernel, stride, padding;
  do {
    std::string_view argument;
    const Token first = reader.peek();
    if (first.kind == TokenKind::name) {
      const Token label = reader.take();
      argument = label.text == "kernel_size" ? "kernel" : label.text;
      if (std::find(kOrder.begin(), kOrder.end(), argument) == kOrder.end())
        reader.fail(fmt::format("unknown argument '{}' of {}: {}", label.text, name.text, usage),
                    label.position);
      reader.expect(TokenKind::equals, fmt::format("expected '=' after {}", label.text));
      positional = kOrder.size();  // no positional argument after a named one
    } else {
      if (positional == kOrder.size())
        reader.fail(fmt::format("too many or misplaced arguments for {}: {}", name.text, usage),
                    first.position);
      argument = kOrder[positional++];
    }
    if (!given.insert(argument).second)
      reader.fail(fmt::format("{} of {} is given twice", argument, name.text), first.position);
    std::optional<std::array<int, 3>>& slot = argument == "kernel"   ? kernel
                                              : argument == "stride" ? stride
                                                                     : padding;
    slot = read_window(reader, argument, dims);
  } while (reader.accept(TokenKind::comma));
  const Token close = reader.expect(TokenKind::close,
                                    fmt::format("expected ',' or ')' in {}: {}", name.text, usage));
  if (!kernel)
    reader.fail(fmt::format("{} needs its kernel: {}", name.text, usage), close.position);
  pool.kernel = *kernel;
  pool.stride = stride.value_or(*kernel);
  pool.padding = padding.value_or(std::array<int, 3>{0, 0, 0});
}

}  // namespace

bool is_window_argument(std::string_view name) {
  return name == "kernel" || name == "stride" || name == "padding" || name == "dilation" ||
         name == "output_padding";
}

std::array<int, 3> read_window(SpecReader& reader, std::string_view name, int dims) {
  const bool padding = name == "padding" || name == "output_padding";
  const int minimum = padding ? 0 : 1;
  std::array<int, 3> values = padding ? std::array{0, 0, 0} : std::array{1, 1, 1};
  if (reader.accept(TokenKind::open)) {
    for (int i = 3 - dims; i < 3; ++i) {
      if (i > 3 - dims)
        reader.expect(TokenKind::comma,
                      fmt::format("expected ',' between the {} values of {}: write one per "
                                  "spatial dimension",
                                  dims, name));
      values[i] = window_value(reader, name, minimum);
    }
    reader.expect(TokenKind::close,
                  fmt::format("expected ')' after the {} values of {} (one per spatial dimension)",
                              dims, name));
    return values;
  }
  const int value = window_value(reader, name, minimum);
  for (int i = 3 - dims; i < 3; ++i) values[i] = value;
  return values;
}

std::span<const std::string_view> pool_names() { return kPoolNames; }

bool is_pool_name(std::string_view name) {
  return std::find(std::begin(kPoolNames), std::end(kPoolNames), name) != std::end(kPoolNames);
}

PoolOp read_pool_step(SpecReader& reader, const ChainIR& ir) {
  const Token name = reader.take();
  const int dims = ir.main.spatial_dims();
  if (dims == 0)
    reader.fail(fmt::format("{} pools the spatial dimensions of a convolution; {} has none",
                            name.text, main_op_name(ir.main.kind)),
                name.position);
  const Shape& shape = ir.shape();
  if (!has_positions(ir))
    reader.fail(fmt::format("{} pools positions, and the value [{}] has lost them to a reduction",
                            name.text, fmt::join(shape, ", ")),
                name.position);
  PoolOp pool;
  if (name.text == "global_avg_pool") {
    pool.kind = PoolKind::global_avg;
    if (reader.peek().kind == TokenKind::open)
      reader.fail("global_avg_pool takes no arguments: write it without parentheses",
                  reader.peek().position);
    return pool;
  }
  pool.kind = name.text.starts_with("max") ? PoolKind::max : PoolKind::avg;
  if (name.text[name.text.size() - 2] - '0' != dims)
    reader.fail(fmt::format("{} follows a {}-d convolution: write {}_pool{}d", name.text, dims,
                            pool.kind == PoolKind::max ? "max" : "avg", dims),
                name.position);
  read_pool_arguments(reader, pool, name, dims);
  std::array<std::int64_t, 3> size{1, 1, 1};
  std::copy(shape.end() - dims, shape.end(), size.end() - dims);
  if (const std::optional<PoolProblem> problem = pool_problem(size, dims, pool))
    reader.fail(problem->message, name.position);
  return pool;
}

}  // namespace fusetune
