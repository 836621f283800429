#include "generator/spec_reductions.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include "generator/spec_parser.h"
#include "generator/spelling.h"

namespace fusetune {
namespace {

constexpr std::int64_t kMaxExtent = std::numeric_limits<std::int32_t>::max();

// torch.finfo(dtype).eps: rms_norm's default eps is that of its input.
double machine_epsilon(DataType type) {
  switch (type) {
    case DataType::bf16:
      return 0.0078125;
    case DataType::fp16:
      return 0.0009765625;
    default:
      return 1.1920928955078125e-07;
  }
}

// One argument as written: its name (empty when positional), where it starts, and its value: a
// token, or the integers of a parenthesized tuple.
struct RawArgument {
  std::string_view name;
  std::size_t position = 0;
  Token value;
  std::optional<std::vector<Token>> tuple;
};

class ReductionReader {
 public:
  ReductionReader(SpecReader& reader, const ChainIR& ir, const ReductionOpInfo& info,
                  const Token& name)
      : reader_(reader), ir_(ir), info_(info), name_(name), shape_(ir.shape()) {}

  ReductionOp read() {
    op_.name = info_.name;
    op_.affine = info_.affine_by_default;
    if (info_.name == "batch_norm") op_.track_running = true;
    std::size_t end = name_.position + name_.text.size();
    if (reader_.accept(TokenKind::open)) {
      if (reader_.peek().kind != TokenKind::close) {
        do read_argument();
        while (reader_.accept(TokenKind::comma));
      }
      end = reader_
                .expect(TokenKind::close,
                        fmt::format("expected ',' or ')' in the arguments of {}; usage: {}",
                                    info_.name, usage()))
                .position;
    }
    finish(end);
    return op_;
  }

 private:
  std::string usage() const {
    std::vector<std::string> arguments;
    switch (info_.group_by) {
      case GroupBy::dims:
        arguments.emplace_back(is_reducing() ? "dim=1 or dim=(2, 3)" : "dim=1");
        if (is_reducing()) arguments.emplace_back("keepdim=false");
        break;
      case GroupBy::trailing:
        arguments.emplace_back("normalized_shape=(...)");
        break;
      case GroupBy::channel_groups:
        arguments.emplace_back("groups=8");
        break;
      default:
        break;
    }
    for (const OpParam& p : info_.params)
      arguments.push_back(fmt::format("{}={}", p.name,
                                      p.name == "eps" && info_.name == "rms_norm"
                                          ? "<dtype's epsilon>"
                                          : canonical_number(p.default_value)));
    if (info_.affine != Affine::none)
      arguments.push_back(fmt::format("affine={}", info_.affine_by_default));
    if (info_.name == "batch_norm") {
      arguments.emplace_back("training=true");
      arguments.emplace_back("track_running_stats=true");
    }
    return fmt::format("{}({})", info_.name, fmt::join(arguments, ", "));
  }

  bool is_reducing() const { return info_.kind == ReductionKind::reduce; }

  // The argument a positional value stands for.
  std::string_view first_argument() const {
    switch (info_.group_by) {
      case GroupBy::dims:
        return "dim";
      case GroupBy::trailing:
        return "normalized_shape";
      case GroupBy::channel_groups:
        return "groups";
      default:
        return "";
    }
  }

  // PyTorch's other names for an argument.
  static std::string_view canonical_name(std::string_view name) {
    if (name == "num_groups") return "groups";
    if (name == "elementwise_affine") return "affine";
    return name;
  }

  void read_argument() {
    RawArgument argument;
    argument.position = reader_.peek().position;
    if (reader_.peek().kind == TokenKind::name) {
      const Token label = reader_.take();
      if (reader_.peek().kind != TokenKind::equals)
        reader_.fail(fmt::format("expected '=' after {}: the arguments of {} are named; usage: {}",
                                 label.text, info_.name, usage()),
                     reader_.peek().position);
      reader_.take();
      argument.name = canonical_name(label.text);
    } else if (!given_.empty()) {
      reader_.fail(fmt::format("only the first argument of {} may go without its name; usage: {}",
                               info_.name, usage()),
                   argument.position);
    } else if (first_argument().empty()) {
      reader_.fail(fmt::format("the arguments of {} are named; usage: {}", info_.name, usage()),
                   argument.position);
    } else {
      argument.name = first_argument();
    }
    if (reader_.accept(TokenKind::open)) {
      argument.tuple.emplace();
      do {
        if (!argument.tuple->empty() && reader_.peek().kind == TokenKind::close) break;  // (1,)
        argument.tuple->push_back(reader_.take());
      } while (reader_.accept(TokenKind::comma));
      reader_.expect(TokenKind::close, fmt::format("expected ',' or ')' in the values of {} of {}",
                                                   argument.name, info_.name));
    } else {
      argument.value = reader_.take();
    }
    if (given_.count(std::string(argument.name)))
      reader_.fail(fmt::format("{} of {} is given twice", argument.name, info_.name),
                   argument.position);
    given_[std::string(argument.name)] = argument.position;
    apply(argument);
  }

  void apply(const RawArgument& a) {
    const std::string_view name = a.name;
    if (name == "dim" && info_.group_by == GroupBy::dims) {
      op_.dims = dims(a);
    } else if (name == "keepdim" && is_reducing()) {
      op_.keepdim = boolean(a);
    } else if (name == "normalized_shape" && info_.group_by == GroupBy::trailing) {
      for (const Token& t : values(a))
        op_.normalized_shape.push_back(reader_.integer(
            t, "normalized_shape holds extents from 1 to 2147483647", 1, kMaxExtent));
    } else if (name == "groups" && info_.group_by == GroupBy::channel_groups) {
      op_.groups = static_cast<int>(
          reader_.integer(single(a), "groups must be an integer from 1 to 65536", 1, 65536));
    } else if (name == "affine" && info_.affine != Affine::none) {
      op_.affine = boolean(a);
    } else if (name == "training" && info_.name == "batch_norm") {
      op_.training = boolean(a);
    } else if (name == "track_running_stats" && info_.name == "batch_norm") {
      op_.track_running = boolean(a);
    } else if (const auto param = param_index(name)) {
      const Token& value = single(a);
      if (value.kind != TokenKind::number)
        reader_.fail(fmt::format("{} of {} must be a number", name, info_.name), value.position);
      if (name == "eps" && value.number < 0)
        reader_.fail(fmt::format("eps of {} must not be negative", info_.name), value.position);
      params_[*param] = value.number;
    } else {
      const std::vector<std::string_view> known = argument_names();
      const std::optional<std::string_view> suggestion = closest_name(name, known);
      reader_.fail(suggestion ? fmt::format("unknown argument '{}' of {}; did you mean '{}'?", name,
                                            info_.name, *suggestion)
                              : fmt::format("unknown argument '{}' of {}; usage: {}", name,
                                            info_.name, usage()),
                   a.position);
    }
  }

  // Every argument name the op takes, for suggestions.
  std::vector<std::string_view> argument_names() const {
    std::vector<std::string_view> names;
    if (!first_argument().empty()) names.push_back(first_argument());
    if (info_.group_by == GroupBy::channel_groups) names.emplace_back("num_groups");
    if (info_.affine == Affine::elements) names.emplace_back("elementwise_affine");
    if (is_reducing()) names.emplace_back("keepdim");
    for (const OpParam& p : info_.params) names.push_back(p.name);
    if (info_.affine != Affine::none) names.emplace_back("affine");
    if (info_.name == "batch_norm") {
      names.emplace_back("training");
      names.emplace_back("track_running_stats");
    }
    return names;
  }

  std::optional<std::size_t> param_index(std::string_view name) const {
    for (std::size_t i = 0; i < info_.params.size(); ++i)
      if (info_.params[i].name == name) return i;
    return std::nullopt;
  }

  const Token& single(const RawArgument& a) const {
    if (a.tuple)
      reader_.fail(fmt::format("{} of {} takes one value, not a tuple", a.name, info_.name),
                   a.position);
    return a.value;
  }

  std::vector<Token> values(const RawArgument& a) const {
    return a.tuple ? *a.tuple : std::vector<Token>{a.value};
  }

  bool boolean(const RawArgument& a) const {
    const Token& value = single(a);
    if (value.kind != TokenKind::name || (value.text != "true" && value.text != "false"))
      reader_.fail(fmt::format("{} of {} must be true or false", a.name, info_.name),
                   value.position);
    return value.text == "true";
  }

  // dim as PyTorch takes it: one dim, or a tuple, each in [-rank, rank), negative from the end.
  std::vector<int> dims(const RawArgument& a) const {
    const auto rank = static_cast<std::int64_t>(shape_.size());
    if (a.tuple && !is_reducing())
      reader_.fail(fmt::format("{} takes one dim, not a tuple", info_.name), a.position);
    std::vector<int> result;
    for (const Token& t : values(a)) {
      const std::int64_t d = reader_.integer(
          t,
          fmt::format("dim must be an integer from {} to {}: the value here is {}-d {}", -rank,
                      rank - 1, rank, fmt::format("[{}]", fmt::join(shape_, ", "))),
          -rank, rank - 1);
      const int dim = static_cast<int>(d < 0 ? d + rank : d);
      if (std::find(result.begin(), result.end(), dim) != result.end())
        reader_.fail(fmt::format("dim {} appears twice", dim), t.position);
      result.push_back(dim);
    }
    std::sort(result.begin(), result.end());
    return result;
  }

  // Defaults, and the checks that need every argument.
  void finish(std::size_t end) {
    const auto rank = static_cast<std::int64_t>(shape_.size());
    const std::string shape_text = fmt::format("[{}]", fmt::join(shape_, ", "));
    auto position_of = [&](const std::string& argument) {
      const auto it = given_.find(argument);
      return it != given_.end() ? it->second : end;
    };
    switch (info_.group_by) {
      case GroupBy::dims:
        if (op_.dims.empty())
          reader_.fail(fmt::format("{} needs dim=: write {}", info_.name, usage()), end);
        break;
      case GroupBy::trailing: {
        if (rank == 0)
          reader_.fail(fmt::format("{} normalizes the last dims of a value, and this one has none "
                                   "left",
                                   info_.name),
                       name_.position);
        if (op_.normalized_shape.empty()) op_.normalized_shape = {shape_.back()};
        const std::size_t count = op_.normalized_shape.size();
        if (count > shape_.size() ||
            !std::equal(op_.normalized_shape.begin(), op_.normalized_shape.end(),
                        shape_.end() - static_cast<std::ptrdiff_t>(count)))
          reader_.fail(fmt::format("normalized_shape ({}) must be the last dims of the value, "
                                   "which is {}",
                                   fmt::join(op_.normalized_shape, ", "), shape_text),
                       position_of("normalized_shape"));
        break;
      }
      case GroupBy::channel_groups:
        if (op_.groups == 0)
          reader_.fail(fmt::format("{} needs groups=: write {}", info_.name, usage()), end);
        if (rank < 2 || shape_[1] % op_.groups != 0)
          reader_.fail(fmt::format("groups={} must divide the {} channels of the value {}",
                                   op_.groups, rank < 2 ? 0 : shape_[1], shape_text),
                       position_of("groups"));
        break;
      case GroupBy::positions:
        if (rank < 3)
          reader_.fail(fmt::format("{} normalizes positions: it needs a value [N, C, ...], and "
                                   "this one is {}",
                                   info_.name, shape_text),
                       name_.position);
        if (product_from(2) < 2)
          reader_.fail(fmt::format("{} needs more than one position per channel; the value {} "
                                   "has one",
                                   info_.name, shape_text),
                       name_.position);
        break;
      case GroupBy::channel:
        if (rank < 2)
          reader_.fail(
              fmt::format("{} needs a value [N, C, ...]; this one is {}", info_.name, shape_text),
              name_.position);
        break;
    }
    if (info_.name == "batch_norm") {
      if (!op_.track_running) op_.training = true;  // no running statistics to use
      if (!op_.training) op_.track_running = true;
      const std::int64_t per_channel = shape_[0] * (rank > 2 ? product_from(2) : 1);
      if (op_.training && per_channel < 2)
        reader_.fail(fmt::format("batch_norm in training mode needs more than one value per "
                                 "channel; the value {} has {}",
                                 shape_text, per_channel),
                     name_.position);
    }
    for (std::size_t i = 0; i < info_.params.size(); ++i) {
      const OpParam& p = info_.params[i];
      const double fallback = info_.name == "rms_norm" && p.name == "eps"
                                  ? machine_epsilon(ir_.main.output_dtype())
                                  : p.default_value;
      op_.scalars.push_back(params_.count(i) ? params_.at(i) : fallback);
    }
  }

  std::int64_t product_from(std::size_t first) const {
    std::int64_t count = 1;
    for (std::size_t d = first; d < shape_.size(); ++d) count *= shape_[d];
    return count;
  }

  SpecReader& reader_;
  const ChainIR& ir_;
  const ReductionOpInfo& info_;
  const Token& name_;
  Shape shape_;
  ReductionOp op_;
  std::map<std::string, std::size_t> given_;  // argument name: where it was written
  std::map<std::size_t, double> params_;      // param index: value written
};

}  // namespace

const ReductionOpInfo* reduction_named(const SpecReader& reader, const Token& name) {
  if (name.text == "max" || name.text == "min") {
    // max(dim=1) is torch.amax; max(2.0) and max(tensor) stay elementwise.
    std::string_view rest = reader.text().substr(name.position + name.text.size());
    auto skip_space = [&] {
      while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front())))
        rest.remove_prefix(1);
    };
    skip_space();
    if (!rest.starts_with("(")) return nullptr;
    rest.remove_prefix(1);
    skip_space();
    if (!rest.starts_with("dim")) return nullptr;
    rest.remove_prefix(3);
    skip_space();
    if (!rest.starts_with("=")) return nullptr;
    return find_reduction_op(name.text == "max" ? "amax" : "amin");
  }
  return find_reduction_op(name.text);
}

ReductionOp read_reduction_op(SpecReader& reader, const ChainIR& ir, const ReductionOpInfo& info,
                              const Token& name) {
  return ReductionReader(reader, ir, info, name).read();
}

std::vector<std::string_view> reduction_names() {
  std::vector<std::string_view> names;
  for (const ReductionOpInfo& op : reduction_ops()) names.push_back(op.name);
  return names;
}

}  // namespace fusetune
