// The options of `fusetune tune`, shared by its two forms: one SPEC, or a list (--specs FILE).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "tuner/tune.h"

namespace fusetune::cli {

struct TuneArgs {
  std::string spec;
  std::string specs_file;  // --specs: a list to tune instead of `spec`
  bool misses = false;     // --misses: the specs loaded untuned, noted in the database
  bool buckets = false;    // --buckets: `spec`'s range of rows as power-of-two buckets
  std::string shard;       // --shard "I/N" (checked by the option's validator); "": the whole list
  std::vector<int> devices;  // --devices; empty: `device` alone
  std::string database;
  std::string system;  // --system; single-spec tuning only
  bool force = false;
  bool json = false;
  bool compile_only = false;
  bool all = false;
  std::string arch = "sm_90";
  int jobs = 0;
  int top = 10;
  std::size_t max_candidates = 0;
  std::optional<double> budget_s;  // --budget-s; empty: the whole space
  std::string precision;           // "": the inputs' own (fp32 FFMA for fp32 data)
  std::optional<double> tolerance;
  int device = 0;
  double timeout_s = 30;
};

// The options of one spec's tuning as `args` ask for it, with no observer.
TuneOptions tune_options(const TuneArgs& args);

}  // namespace fusetune::cli
