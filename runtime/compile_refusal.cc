#include "runtime/compile_refusal.h"

#include <fmt/format.h>

#include "cache/environment_flag.h"

namespace fusetune {

bool no_compile_from_environment() { return cache::environment_flag("FUSETUNE_NO_COMPILE"); }

std::string compile_refusal(const CompileNeed& need) {
  constexpr const char* kOff =
      "compiling at load is off (production mode: Options::no_compile or $FUSETUNE_NO_COMPILE)";
  const std::string tune =
      fmt::format("fusetune tune \"{}\" --precision {}", need.spec, need.precision);
  if (need.tuned)
    return fmt::format(
        "'{}' is tuned on {} at precision {}, but the cubin of its winner {} is not in {} "
        "(deleted, or imported without it), and {}. Load it once where compiling is allowed, which "
        "stores its cubin, or run `fusetune tune \"{}\" --precision {} --compile-only --arch {}`, "
        "which stores the cubins of its whole search space (no GPU needed).",
        need.spec, need.device, need.precision, need.kernel, need.database, kOff, need.spec,
        need.precision, need.arch);
  const std::string served = need.neighbour.empty()
                                 ? fmt::format("the default configuration {}", need.kernel)
                                 : fmt::format("{}, the winner of the nearest tuned shape '{}',",
                                               need.kernel, need.neighbour);
  return fmt::format(
      "'{}' was never tuned on {} at precision {}, and {}: it would run {} whose cubin is not in "
      "{}. Run `{}` on this GPU (or `fusetune tune --misses`, which tunes every spec noted so, "
      "this one included), then load it again.",
      need.spec, need.device, need.precision, kOff, served, need.database, tune);
}

}  // namespace fusetune
