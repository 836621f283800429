// What a user asks for: one precision by name, or "auto": the fastest precision whose measured
// error stays within a tolerance. Precisions are tuned and stored one by one; "auto" chooses
// among their winners, so it reuses every tuning already in the database.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "generator/precision.h"

namespace fusetune {

struct PrecisionPolicy {
  std::optional<Precision> precision;  // empty: auto
  double tolerance = 1e-5;             // relative Frobenius error against fp64

  bool is_auto() const { return !precision.has_value(); }
  // The precisions to tune: the named one, or for auto every precision whose expected error
  // is within the tolerance, the fastest expected first.
  std::vector<Precision> precisions() const;
  std::string name() const;  // "tf32", or "auto"
};

// Builds the policy for `name` ("fp32", "tf32", "3xtf32" or "auto"); without a tolerance, the
// named precision's default_tolerance, and for auto fp32-level accuracy (1e-5). Throws
// fusetune::Error(invalid_argument) saying what is accepted for an unknown name or a tolerance
// that is not a positive number.
PrecisionPolicy make_precision_policy(std::string_view name, std::optional<double> tolerance);

// The relative error a precision typically reaches on the tuner's inputs (uniform, K in the
// thousands); auto tries a precision only when this is within the tolerance. The measured
// error, not this figure, decides whether its winner may be used.
double expected_error(Precision precision);

// One precision's tuned winner, as auto compares them.
struct PrecisionWinner {
  Precision precision;
  double time_ms;
  double rel_err;  // the largest error measured (the sweep's check and its re-check)
};

// The index of the fastest winner whose measured error is within `tolerance`; empty when none.
std::optional<std::size_t> choose_fastest_within(const std::vector<PrecisionWinner>& winners,
                                                 double tolerance);

}  // namespace fusetune
