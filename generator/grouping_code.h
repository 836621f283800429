// A reduction's grouping (generator/chain_ir.h) as generated code sees it: the value's dims
// merged into runs of reduced and kept dims, and the index arithmetic between an element of the
// value and its group and place. Shared by a plan's finishing kernels and the backward pass's
// held groups.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "generator/chain_ir.h"

namespace fusetune {

// A grouping's view with neighbouring dims of the same kind merged: [16, 32, 32, 64, 64]
// reduced over all but dim 1 is [16 (reduced), 32 (kept), 131072 (reduced)].
struct Run {
  std::int64_t extent;
  bool reduced;
  std::int64_t stride;  // elements of the value between neighbours along the run
};

std::vector<Run> runs_of(const Grouping& grouping);

// Whether a group's values lie side by side in memory.
bool side_by_side(const Grouping& grouping);

// The body of a function of (long long g, long long p) returning the index in the value of
// place p of group g (it consumes g and p).
std::string index_code(const std::vector<Run>& runs);

// An expression for the group of element `i` of the value.
std::string group_code(const std::vector<Run>& runs);

}  // namespace fusetune
