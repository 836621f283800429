// The checks of a tuning from elsewhere (an import, a merge, a system database's tuning adopted by
// the user's) that need the generator: cache/merge.h runs them as MergeOptions::check, after its
// own, before anything is written.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/database.h"

namespace fusetune {

// The most TFLOP/s any kernel could reach on a GPU of `arch`, generously: twice the dense 16-bit
// tensor-core peak of the fastest GPU of that arch (sm_90: the H100 SXM's 989), and twice the
// B200's (2250) for an arch fusetune does not know yet. A time implying more is no measurement.
double peak_tflops_bound(std::string_view arch);

// Why `tuning` with `candidates` must not be taken: a time (a candidate's or the winner's) in
// which the spec's work (Spec::flops) would run beyond peak_tflops_bound on its arch; or, in a
// tuning of this build (another build's are never used, and `cache prune` removes them), a spec
// that does not parse or a configuration that validated_config refuses for it on the key's GPU.
// nullopt to take it.
std::optional<std::string> import_problem(const cache::TuningRecord& tuning,
                                          const std::vector<cache::CandidateRecord>& candidates);

}  // namespace fusetune
