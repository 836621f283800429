// The problems a candidate of a spec is verified on: one for a spec of one shape; for a bucket
// (m=lo..hi), one per row count of verified_rows, each drawn and referenced at its own rows,
// so that a kernel whose rows come at launch is checked where its guards and tile counts
// differ. The last, the bucket's top, is the one timed: a bucket's stored time is that of its
// largest call, which its flops (Spec::flops, at the top) describe.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "generator/spec.h"
#include "tuner/problem_data.h"

namespace fusetune {

// The row counts a bucket's candidates are verified at: its low end, an odd count near its
// middle and its top (fewer where the range is that short); a spec of one shape's own m.
std::vector<std::int64_t> verified_rows(const MainOp& main);

class RowProblems {
 public:
  // One ProblemData per verified row count (ProblemData's constructor says what it throws).
  RowProblems(const Spec& spec, std::uint64_t seed, cudaStream_t stream,
              bool host_part_later = false);

  // New random inputs (and their references) from another seed.
  void refill(std::uint64_t seed);
  // Waits for the references whose host halves run in the background.
  void finish_reference();

  const std::vector<std::unique_ptr<ProblemData>>& all() const { return problems_; }
  ProblemData& timed() const { return *problems_.back(); }

 private:
  std::vector<std::unique_ptr<ProblemData>> problems_;  // in verified_rows' order
};

}  // namespace fusetune
