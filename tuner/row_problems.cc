#include "tuner/row_problems.h"

#include <algorithm>

namespace fusetune {
namespace {

// Seeds of the problems of one RowProblems, apart so that no two draw the same inputs.
std::uint64_t seed_of(std::uint64_t seed, std::size_t index) { return seed + 7919 * index; }

}  // namespace

std::vector<std::int64_t> verified_rows(const MainOp& main) {
  if (!main.is_row_range()) return {main.launch_rows()};
  // An odd count, so that neither a tile nor a vector of rows divides it.
  const std::int64_t middle = std::min(main.m, (main.m_min + main.m) / 2 | 1);
  std::vector<std::int64_t> rows = {main.m_min, middle, main.m};
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

RowProblems::RowProblems(const Spec& spec, std::uint64_t seed, cudaStream_t stream,
                         bool host_part_later) {
  const std::vector<std::int64_t> rows = verified_rows(spec.main);
  for (std::size_t i = 0; i < rows.size(); ++i)
    problems_.push_back(
        std::make_unique<ProblemData>(spec.main.is_row_range() ? spec.at_rows(rows[i]) : spec,
                                      seed_of(seed, i), stream, host_part_later));
}

void RowProblems::refill(std::uint64_t seed) {
  for (std::size_t i = 0; i < problems_.size(); ++i) problems_[i]->refill(seed_of(seed, i));
}

void RowProblems::finish_reference() {
  for (const std::unique_ptr<ProblemData>& problem : problems_) problem->finish_reference();
}

}  // namespace fusetune
