// Text from a tuning database or a file from elsewhere, made safe to print: it may carry escape
// sequences (which clear a terminal, rename its window or worse) and bytes that are not UTF-8.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace fusetune::cli {

// `text` with each control character (C0, DEL, C1) and each byte that is not part of valid UTF-8
// shown as \xNN; newlines too, unless `keep_newlines` (for messages of several lines).
std::string printable(std::string_view text, bool keep_newlines = false);

// `j` as indented JSON text that is valid whatever its strings hold: invalid UTF-8 becomes
// U+FFFD, and control characters are escaped as JSON escapes them.
std::string json_text(const nlohmann::json& j);

}  // namespace fusetune::cli
