#include "tools/tune_args.h"

namespace fusetune::cli {

TuneOptions tune_options(const TuneArgs& args) {
  TuneOptions options;
  options.force = args.force;
  options.compile_only = args.compile_only;
  options.arch = args.arch;
  options.compile_threads = args.jobs;
  options.max_candidates = args.max_candidates;
  options.budget_s = args.budget_s;
  options.tolerance = args.tolerance;
  options.device = args.device;
  options.candidate_timeout_s = args.timeout_s;
  return options;
}

}  // namespace fusetune::cli
