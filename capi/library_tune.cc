#include "capi/library_tune.h"

#include <fmt/format.h>

#include <optional>
#include <string>

#include "cache/database.h"
#include "capi/tune_json.h"
#include "generator/precision_policy.h"
#include "generator/spec_parser.h"
#include "tuner/tune_auto.h"

namespace fusetune::capi {
namespace {

// Passes each finished candidate to the caller's progress function.
class ProgressForwarder final : public TuneObserver {
 public:
  ProgressForwarder(fusetune_progress_fn progress, void* user) : progress_(progress), user_(user) {}

  void started(int, const std::string&, std::string_view precision,
               std::optional<double>) override {
    precision_ = precision;
  }
  void finished_candidate(const CandidateResult&, int done, int total,
                          std::optional<double>) override {
    progress_(done, total, precision_.c_str(), user_);
  }

 private:
  fusetune_progress_fn progress_;
  void* user_;
  std::string precision_;
};

std::string no_winner_message(const Spec& spec, const PrecisionPolicy& policy,
                              const std::string& database) {
  const std::string canonical = spec.canonical();
  const std::string what =
      policy.is_auto() ? fmt::format("no precision has a winner for '{}' within {:g}", canonical,
                                     policy.tolerance)
                       : fmt::format("no candidate for '{}' passed verification at precision {}",
                                     canonical, policy.name());
  return fmt::format("{}; `fusetune cache show \"{}\" --db \"{}\"` lists why", what, canonical,
                     database);
}

}  // namespace

nlohmann::ordered_json tune_in_library(fusetune_library& library, const TuneRequest& request) {
  const Spec spec = parse_spec(request.spec);
  const std::optional<double> tolerance =
      request.tolerance != 0 ? std::optional<double>(request.tolerance) : std::nullopt;
  const PrecisionPolicy policy = make_precision_policy(request.precision, tolerance, spec.main);
  const std::unique_ptr<cache::Database> db = cache::Database::open(library.database_path());
  std::optional<ProgressForwarder> forwarder;
  if (request.progress) forwarder.emplace(request.progress, request.user);
  TuneOptions options;
  options.tolerance = tolerance;
  options.force = request.force;
  options.max_candidates = request.max_candidates;
  options.device = library.device();
  options.observer = forwarder ? &*forwarder : nullptr;
  const AutoTuneReport report = tune_with_policy(spec, *db, policy, options);
  library.forget_libraries();
  if (!report.chosen)
    throw Error(StatusCode::not_found, no_winner_message(spec, policy, library.database_path()));
  return tune_report_json(report);
}

}  // namespace fusetune::capi
