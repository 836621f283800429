// On/off settings from the environment ($FUSETUNE_TRUST_SYSTEM_BINARIES, $FUSETUNE_NO_COMPILE),
// all read by one rule so that "0" means off for every one of them.
#pragma once

namespace fusetune::cache {

// Whether $`name` is set to anything but "", "0", "false" or "no".
bool environment_flag(const char* name);

}  // namespace fusetune::cache
