#include "tuner/spec_list.h"

#include <fmt/format.h>

#include "fusetune/status.h"
#include "generator/spec_parser.h"

namespace fusetune {
namespace {

// The line without its comment; all blanks when it holds no spec.
std::string_view without_comment(std::string_view line) { return line.substr(0, line.find('#')); }

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
}

}  // namespace

std::vector<ListedSpec> parse_spec_list(std::string_view text, std::string_view source) {
  std::vector<ListedSpec> specs;
  std::string problems;
  int number = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = without_comment(text.substr(start, end - start));
    start = end + 1;
    ++number;
    if (blank(line)) continue;
    try {
      specs.push_back({number, parse_spec(line)});
    } catch (const SpecError& e) {
      problems +=
          fmt::format("{}{}:{}: {}", problems.empty() ? "" : "\n", source, number, e.what());
    }
  }
  if (!problems.empty()) throw Error(StatusCode::invalid_spec, problems);
  if (specs.empty())
    throw Error(StatusCode::invalid_spec,
                fmt::format("{} names no spec: write one per line ('#' starts a comment)", source));
  return specs;
}

}  // namespace fusetune
