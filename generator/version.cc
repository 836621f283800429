#include "generator/version.h"

#include "generator/fingerprint.h"

namespace fusetune {

std::string_view fusetune_version() { return FUSETUNE_VERSION; }

const std::string& generator_version() {
  static const std::string version =
      std::string(fusetune_version()) + "+" + std::string(generator_fingerprint.substr(0, 12));
  return version;
}

}  // namespace fusetune
