// One candidate's outcome in a sweep, and its row in the tuning database.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cache/database.h"
#include "generator/generator.h"
#include "tuner/outcome.h"

namespace fusetune {

struct CandidateResult {
  std::string name;
  KernelConfig config;
  Outcome outcome = Outcome::ok;  // ok: a finalist; slower: verified, screened out
  std::optional<double> time_ms;
  std::optional<double> rel_err;
  std::optional<double> time_noise;  // finalists: how far time_ms may be off, relative to it
  int registers = -1;
  int smem_bytes = -1;  // dynamic + static shared memory per block
  int spill_bytes = -1;
  std::string message;  // why it failed
};

cache::CandidateRecord to_record(const CandidateResult& result, const std::string& binary_key);
// The stored row as a result for `spec` on `limits`. Throws Error(invalid_argument) saying why
// when validated_config refuses its configuration for them (generator.h): a row from a damaged
// database or from elsewhere never reaches generate() unchecked.
CandidateResult from_record(const cache::CandidateRecord& record, const Spec& spec,
                            const DeviceLimits& limits);
// The stored rows that from_record accepts, as results in their order; the others left out.
std::vector<CandidateResult> stored_results(const std::vector<cache::CandidateRecord>& records,
                                            const Spec& spec, const DeviceLimits& limits);

// Finalists (ok) fastest first, except that the winner by cache/winner_rule.h (the incumbent
// while within twice the noise; else within the fastest's noise, the first by name) leads them;
// then screened-out candidates (slower) by time, then failures by outcome and name.
// `incumbent` names the winner the tuning replaces, or is empty.
void sort_results(std::vector<CandidateResult>& results, const std::string& incumbent);

}  // namespace fusetune
