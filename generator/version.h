// Versions that key the tuning cache: a change to the templates or the generator changes the
// kernels, so results measured with other code must not be reused.
#pragma once

#include <string>
#include <string_view>

namespace fusetune {

std::string_view fusetune_version();  // "0.1.0"

// fusetune_version() + "+" + the first 12 hex digits of a hash of the templates and the
// generator's sources, taken at build time.
const std::string& generator_version();

}  // namespace fusetune
