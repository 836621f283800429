#include "cache/environment_flag.h"

#include <cstdlib>
#include <string_view>

namespace fusetune::cache {

bool environment_flag(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return false;
  const std::string_view text = value;
  return !(text.empty() || text == "0" || text == "false" || text == "no");
}

}  // namespace fusetune::cache
