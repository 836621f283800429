#include "capi/tune_json.h"

#include <optional>

namespace fusetune::capi {
namespace {

using Json = nlohmann::ordered_json;

Json optional_number(std::optional<double> value) { return value ? Json(*value) : Json(); }

Json sweep_json(const TuneReport& sweep) {
  const CandidateResult* winner = sweep.winner ? &*sweep.winner : nullptr;
  return {{"precision", sweep.precision},
          {"config", winner ? Json(winner->name) : Json()},
          {"time_ms", optional_number(winner ? winner->time_ms : std::nullopt)},
          {"rel_err", optional_number(measured_error(sweep))},
          {"candidates", sweep.candidates},
          {"compiled", sweep.compiled},
          {"failed", sweep.failed},
          {"from_cache", sweep.from_cache},
          {"tuning_seconds", sweep.tuning_seconds}};
}

}  // namespace

nlohmann::ordered_json tune_report_json(const AutoTuneReport& report) {
  Json sweeps = Json::array();
  for (const TuneReport& sweep : report.sweeps) sweeps.push_back(sweep_json(sweep));
  const TuneReport* chosen = report.chosen_sweep();
  const Json winner = chosen ? sweep_json(*chosen) : Json();
  auto chosen_field = [&](const char* key) { return chosen ? winner.at(key) : Json(); };
  return {{"spec", report.spec},
          {"precision", chosen_field("precision")},
          {"config", chosen_field("config")},
          {"time_ms", chosen_field("time_ms")},
          {"rel_err", chosen_field("rel_err")},
          {"from_cache", chosen_field("from_cache")},
          {"tuning_seconds", chosen_field("tuning_seconds")},
          {"sweeps", std::move(sweeps)}};
}

}  // namespace fusetune::capi
