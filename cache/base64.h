// Base64 (RFC 4648, with padding), to carry cubins inside a JSON export.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fusetune::cache {

std::string base64_encode(const std::vector<char>& bytes);

// The bytes `text` encodes; nullopt when it is not padded base64 (no whitespace allowed).
std::optional<std::vector<char>> base64_decode(std::string_view text);

}  // namespace fusetune::cache
