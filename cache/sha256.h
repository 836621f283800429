// SHA-256 (FIPS 180-4), to check that a stored cubin is the one that was written.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fusetune::cache {

// The digest of `bytes` as 64 lowercase hex characters.
std::string sha256_hex(std::string_view bytes);
std::string sha256_hex(const std::vector<char>& bytes);

}  // namespace fusetune::cache
