// `fusetune tune --misses`: tunes every spec that was loaded untuned on this GPU (the library
// notes each such load in the database), each at the precision it was loaded with; a spec tuned
// leaves the list.
#pragma once

#include "tools/tune_args.h"

namespace fusetune::cli {

// Returns the exit code: kFailure when any missed spec failed to tune (after trying all).
int tune_misses(const TuneArgs& args);

}  // namespace fusetune::cli
