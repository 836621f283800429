// A hash of the templates and the generator's sources, written at build time by
// generator/fingerprint.cmake.
#pragma once

#include <string_view>

namespace fusetune {

extern const std::string_view generator_fingerprint;  // 64 hex digits

}  // namespace fusetune
