// Lets GoogleTest print an Outcome by its name in failure messages.
#pragma once

#include <ostream>

#include "tuner/outcome.h"

namespace fusetune {

inline void PrintTo(Outcome outcome, std::ostream* os) { *os << to_string(outcome); }

}  // namespace fusetune
