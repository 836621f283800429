// A sweep on the GPU, in three phases: screen every candidate (verify it, time it briefly),
// time the fastest few in full in interleaved rounds, and re-check the winner on new inputs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cache/database.h"
#include "runtime/device.h"
#include "tuner/tune.h"

namespace fusetune {

// Sweeps `spec` into the tuning `key` of `db` (resuming one that stopped part-way) and returns
// the results in the order they came (the caller sorts and summarizes). `incumbent` names the
// winner the sweep replaces (empty if none): it is timed among the finalists if it screens
// well enough to be verified, and keeps its place while within noise (cache/winner_rule.h).
TuneReport run_gpu_sweep(const Spec& spec, cache::Database& db, const TuneOptions& options,
                         const DeviceInfo& device, const cache::TuningKey& key,
                         const std::string& incumbent);

// For a tuning under `key` whose soft keys (cache/soft_keys.h) differ from `device`'s, or that
// holds a result merged from elsewhere ranked ahead of its winner (cache/merge.h), listed in
// `changes`, and whose winner is `winner`: verifies its winner and runner-up (that result, if
// any) again on new inputs, compiling a cubin an import left out, and times them in interleaved
// rounds, stores the new soft keys, times and winner (the old winner while within noise), and
// returns the report. The other finalists become "slower". Empty when neither passes any more,
// for the caller to sweep again.
std::optional<TuneReport> reverify_sweep(const Spec& spec, cache::Database& db,
                                         const TuneOptions& options, const DeviceInfo& device,
                                         const cache::TuningKey& key,
                                         const std::vector<std::string>& changes,
                                         const std::string& winner);

}  // namespace fusetune
