// JSON from elsewhere (a file to import, a column another program may have written), parsed
// within limits. nlohmann's parser keeps no limit, and its dump(), comparisons and copies recurse
// once per level of nesting: a value of 100,000 nested arrays would overflow the stack in
// whatever touched it next.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace fusetune::cache {

struct JsonLimits {
  std::size_t max_bytes = 0;
  int max_depth = 0;  // arrays and objects open at once
};

// Parses `text`. Throws fusetune::Error (invalid_argument) whose message starts with `source` and
// says what is wrong and where: larger than allowed, nested deeper (under which key), a number out
// of range (after which key), or not JSON (line and column).
nlohmann::json parse_json_within(std::string_view text, const JsonLimits& limits,
                                 const std::string& source);

// `value` as JSON text for a message: at most `max_chars` characters, cut with "...".
std::string json_excerpt(const nlohmann::json& value, std::size_t max_chars = 60);

}  // namespace fusetune::cache
