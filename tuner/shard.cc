#include "tuner/shard.h"

#include <algorithm>
#include <charconv>

namespace fusetune {
namespace {

// A whole decimal number filling all of `text`, without sign or spaces.
std::optional<int> whole_number(std::string_view text) {
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<Shard> parse_shard(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::optional<int> index = whole_number(text.substr(0, slash));
  const std::optional<int> count = whole_number(text.substr(slash + 1));
  if (!index || !count || *index >= *count) return std::nullopt;
  return Shard{*index, *count};
}

std::vector<std::string> canonical_order(std::vector<std::string> specs) {
  std::sort(specs.begin(), specs.end());
  specs.erase(std::unique(specs.begin(), specs.end()), specs.end());
  return specs;
}

std::vector<std::string> take_shard(std::vector<std::string> specs, Shard shard) {
  std::vector<std::string> ordered = canonical_order(std::move(specs));
  std::vector<std::string> share;
  for (std::size_t j = static_cast<std::size_t>(shard.index); j < ordered.size();
       j += static_cast<std::size_t>(shard.count))
    share.push_back(std::move(ordered[j]));
  return share;
}

}  // namespace fusetune
