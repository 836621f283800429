#include "tools/terminal_text.h"

#include <fmt/format.h>

namespace fusetune::cli {
namespace {

// The length of the valid UTF-8 sequence at the start of `text`, 0 when there is none. Overlong
// forms, surrogates and code points past U+10FFFF are not valid.
std::size_t utf8_length(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  const std::size_t length = lead < 0x80   ? 1
                             : lead < 0xc2 ? 0
                             : lead < 0xe0 ? 2
                             : lead < 0xf0 ? 3
                             : lead < 0xf5 ? 4
                                           : 0;
  if (length == 0 || text.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i)
    if ((byte(i) & 0xc0) != 0x80) return 0;
  if (lead == 0xe0 && byte(1) < 0xa0) return 0;   // overlong
  if (lead == 0xed && byte(1) >= 0xa0) return 0;  // a surrogate
  if (lead == 0xf0 && byte(1) < 0x90) return 0;   // overlong
  if (lead == 0xf4 && byte(1) >= 0x90) return 0;  // past U+10FFFF
  return length;
}

}  // namespace

std::string printable(std::string_view text, bool keep_newlines) {
  std::string shown;
  shown.reserve(text.size());
  auto escape = [&](char c) { shown += fmt::format("\\x{:02x}", static_cast<unsigned char>(c)); };
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_length(text.substr(i));
    const unsigned char c = static_cast<unsigned char>(text[i]);
    // C1 controls are the code points U+0080..U+009F: 0xc2 0x80..0x9f in UTF-8.
    const bool c1 = length == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0;
    if (length == 0) {
      escape(text[i++]);
    } else if (c1) {
      escape(text[i]);
      escape(text[i + 1]);
      i += 2;
    } else if (length == 1 && (c < 0x20 || c == 0x7f) && !(keep_newlines && c == '\n')) {
      escape(text[i++]);
    } else {
      shown.append(text.substr(i, length));
      i += length;
    }
  }
  return shown;
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace fusetune::cli
