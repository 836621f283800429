#include "generator/template_text.h"

#include <fmt/format.h>

namespace fusetune {

std::string inline_template(std::string_view file_name, std::string_view text) {
  std::string out = fmt::format("// ---- templates/{} ----\n", file_name);
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (line != "#pragma once") {
      out += line;
      out += '\n';
    }
    start = end + 1;
  }
  return out;
}

}  // namespace fusetune
