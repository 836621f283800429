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
#include "generator/spec.h"

namespace fusetune {

struct PrecisionPolicy {
  std::optional<Precision> precision;  // empty: auto
  double tolerance = 1e-5;             // relative Frobenius error against fp64
  DataType inputs = DataType::fp32;    // the spec's types: which precisions apply
  DataType output = DataType::fp32;

  bool is_auto() const { return !precision.has_value(); }
  // The precisions to tune: the named one, or for auto every precision whose expected error
  // is within the tolerance, the fastest expected first.
  std::vector<Precision> precisions() const;
  std::string name() const;  // "tf32", or "auto"
};

// Why `tolerance` cannot bound a relative error against fp64, as a message; nullopt when it can.
// A tolerance is a finite number in (0, 1): an output of zeros has a relative error of exactly
// 1, so from 1 up verification would pass a kernel that writes nothing.
std::optional<std::string> tolerance_problem(double tolerance);

// Checks what a user may ask before a spec is known: `name` is "" (the precision native to the
// spec's inputs), a precision or "auto", and the tolerance, when given, one tolerance_problem
// accepts. Throws fusetune::Error(invalid_argument) saying what is accepted.
void check_precision_request(std::string_view name, std::optional<double> tolerance);

// Throws fusetune::Error(invalid_argument) when `precision` does not multiply the inputs of
// `main` (tf32 on bf16 data), naming the precision to use instead.
void require_precision_reads(Precision precision, const MainOp& main);

// Builds the policy for `name` on the operands of `main`: "" is the inputs' native precision
// (fp32 FFMA for fp32 data). Without a tolerance, the precision's default_tolerance for the
// spec's output type; for auto fp32-level accuracy (1e-5) with an fp32 output, else the native
// precision's default. Throws fusetune::Error(invalid_argument) for what
// check_precision_request refuses, for a precision that does not read the spec's inputs
// (tf32 on bf16 data), and for an auto tolerance no precision reaches.
PrecisionPolicy make_precision_policy(std::string_view name, std::optional<double> tolerance,
                                      const MainOp& main = {});

// The relative error a precision typically reaches on the tuner's inputs (uniform, K in the
// thousands) with an output of type `output`; auto tries a precision only when this is within
// the tolerance. The measured error, not this figure, decides whether its winner may be used.
double expected_error(Precision precision, DataType output = DataType::fp32);

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
