// A sweep on the GPU, in three phases: screen every candidate (verify it, time it briefly),
// time the fastest few in full in interleaved rounds, and re-check the winner on new inputs.
#pragma once

#include "cache/database.h"
#include "runtime/device.h"
#include "tuner/tune.h"

namespace fusetune {

// Sweeps `spec` into the tuning `key` of `db` (resuming one that stopped part-way) and returns
// the results in the order they came (the caller sorts and summarizes).
TuneReport run_gpu_sweep(const Spec& spec, cache::Database& db, const TuneOptions& options,
                         const DeviceInfo& device, const cache::TuningKey& key);

}  // namespace fusetune
