// The typed outcome of one candidate in a sweep.
#pragma once

#include <optional>
#include <string_view>

namespace fusetune {

enum class Outcome {
  ok,                // verified and timed
  slower,            // verified, then abandoned: its first launches were far behind the best
  compile_error,     // NVRTC rejected it
  out_of_resources,  // needs more registers, threads or shared memory than the device has
  wrong_result,      // its output differs from the fp64 reference beyond tolerance, or has NaN
  fault,             // it crashed the CUDA context (illegal address, ...)
  timeout,           // it did not finish in time
};

std::string_view to_string(Outcome outcome);
std::optional<Outcome> outcome_from_string(std::string_view text);

// Whether a candidate with this outcome can be the winner.
inline bool can_win(Outcome outcome) { return outcome == Outcome::ok; }

}  // namespace fusetune
