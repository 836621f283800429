// The order in which a sweep under a time budget (TuneOptions::budget_s) screens a search
// space, in batches: first the families' best predicted, taking turns; then the untried
// neighbours (same family, one setting different, then two) of the fastest measured so far,
// with a share of every batch still spent on the next best predicted, so that a family whose
// first guesses were poor gets looked at again. Pure: it sees configurations and times, never a
// GPU, and proposes the same batches for the same space and the same times.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "generator/generator.h"

namespace fusetune {

class BudgetSearch {
 public:
  // `space` in search_space's order (best predicted first); the search refers to candidates by
  // their index in it.
  explicit BudgetSearch(const std::vector<Candidate>& space);

  // Up to `size` candidates never proposed nor measured before, to screen next; empty once
  // every candidate has been.
  std::vector<std::size_t> next_batch(std::size_t size);

  // Candidate `index` was screened in `time_ms`; empty when it failed (it then leads nowhere).
  // A candidate measured without being proposed (a resumed sweep's) is never proposed.
  void measured(std::size_t index, std::optional<double> time_ms);

 private:
  struct Entry {
    std::size_t family;                 // the configuration's kernel family
    std::vector<std::string> settings;  // "name=value", in the same order within a family
    bool tried = false;                 // proposed or measured
    std::optional<double> time_ms;
  };

  std::vector<std::size_t> parents() const;
  int differences(std::size_t a, std::size_t b) const;

  std::vector<Entry> entries_;
  std::vector<std::size_t> turns_;  // the families' best predicted, taking turns
};

// How a finalist phase fits in `seconds` when one full timing of a finalist costs `run_s`:
// two rounds each for as many finalists as fit, at least one round of min(2, fitting) of them.
struct FinalistPlan {
  int finalists = 1;
  int rounds = 1;
};
FinalistPlan plan_finalists(double seconds, double run_s, int max_finalists, int max_rounds);

}  // namespace fusetune
