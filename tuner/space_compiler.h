// A spec's search space made ready to run: each candidate's source and cubin, the cubin taken
// from the database when it is there and compiled on a pool of threads (and stored) otherwise.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cache/database.h"
#include "generator/generator.h"
#include "runtime/nvrtc.h"
#include "tuner/candidate_result.h"

namespace fusetune {

struct PreparedCandidate {
  Candidate candidate;
  KernelSource source;
  std::string binary_key;
  std::optional<CompiledBinary> binary;  // empty until compiled, and after a compile error
};

// The candidates of `spec` at `precision` on `limits` (at most `max_candidates` of them, the
// families' best predicted; 0: all) minus those named in `skip`, best predicted first, with the
// cubins the database already holds. Throws fusetune::Error(invalid_argument) saying why where the
// space is empty.
std::vector<PreparedCandidate> prepare_space(const Spec& spec, const DeviceLimits& limits,
                                             Precision precision, std::size_t max_candidates,
                                             const std::string& arch, cache::Database& db,
                                             const std::set<std::string>& skip);

// Receives each candidate once its cubin is known; `error` is the compiler's message when
// compilation failed (binary then empty).
using CompiledCallback = std::function<void(const PreparedCandidate&, const std::string& error)>;

// Calls `consume` on the candidates the database had, then on the rest as `threads` threads
// compile them, storing each new cubin in `db` first.
void compile_space(std::vector<PreparedCandidate>& prepared, const std::string& arch, int threads,
                   cache::Database& db, const CompiledCallback& consume);

// How many of `prepared` have their cubin already (found in the database by prepare_space).
int count_with_binary(const std::vector<PreparedCandidate>& prepared);

// A result carrying the candidate's name, configuration and compiled resources.
CandidateResult result_of(const PreparedCandidate& prepared);

// Why the compiled kernel cannot run even one block on the device, if it cannot.
std::optional<std::string> exceeds_device(const CandidateResult& result, const KernelSource& source,
                                          const DeviceLimits& limits);

}  // namespace fusetune
