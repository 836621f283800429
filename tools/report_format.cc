#include "tools/report_format.h"

#include <fmt/format.h>

namespace fusetune::cli {

std::string format_ms(std::optional<double> ms) { return ms ? fmt::format("{:.3f}", *ms) : "-"; }

std::string format_tflops(double flops, std::optional<double> ms) {
  return ms && *ms > 0 ? fmt::format("{:.1f}", flops / (*ms * 1e-3) / 1e12) : "-";
}

std::string format_error(std::optional<double> rel_err) {
  return rel_err ? fmt::format("{:.1e}", *rel_err) : "-";
}

std::string format_kib(int bytes) {
  return bytes >= 0 ? fmt::format("{:.1f}", bytes / 1024.0) : "-";
}

nlohmann::json optional_json(std::optional<double> value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

nlohmann::json to_json(const CandidateResult& r, double flops) {
  nlohmann::json j = {{"name", r.name},
                      {"config", nlohmann::json::parse(config_json(r.config))},
                      {"outcome", to_string(r.outcome)},
                      {"registers", r.registers},
                      {"smem_bytes", r.smem_bytes},
                      {"spill_bytes", r.spill_bytes}};
  j["time_ms"] = optional_json(r.time_ms);
  j["time_noise"] = optional_json(r.time_noise);
  j["tflops"] = r.time_ms ? nlohmann::json(flops / (*r.time_ms * 1e-3) / 1e12) : nlohmann::json();
  j["rel_err"] = optional_json(r.rel_err);
  if (!r.message.empty()) j["message"] = r.message;
  return j;
}

nlohmann::json to_json(const TuneReport& report, const std::string& database) {
  nlohmann::json j = {
      {"spec", report.spec},
      {"precision", report.precision},
      {"device", report.device},
      {"arch", report.arch},
      {"database", database},
      {"from_cache", report.from_cache},
      {"from_system", report.from_system},
      {"compile_only", report.compile_only},
      {"strategy", report.strategy.empty() ? nlohmann::json() : nlohmann::json(report.strategy)},
      {"budget_s", optional_json(report.budget_s)},
      {"candidates", report.candidates},
      {"space_size", report.space_size},
      {"compiled", report.compiled},
      {"from_database", report.from_database},
      {"failed", report.failed},
      {"tuning_s", report.tuning_seconds},
      {"phase_s", report.phase_seconds}};
  j["winner"] = report.winner ? to_json(*report.winner, report.flops) : nlohmann::json();
  j["winner_recheck_rel_err"] = optional_json(report.winner_recheck_rel_err);
  j["incumbent"] = report.incumbent.empty() ? nlohmann::json() : nlohmann::json(report.incumbent);
  nlohmann::json results = nlohmann::json::array();
  for (const CandidateResult& r : report.results) results.push_back(to_json(r, report.flops));
  j["results"] = std::move(results);
  return j;
}

nlohmann::json to_json(const AutoTuneReport& report, bool is_auto, const std::string& database) {
  if (!is_auto) return to_json(report.sweeps.front(), database);
  nlohmann::json sweeps = nlohmann::json::array();
  for (const TuneReport& sweep : report.sweeps) sweeps.push_back(to_json(sweep, database));
  const TuneReport* chosen = report.chosen_sweep();
  return {{"spec", report.spec},
          {"precision", "auto"},
          {"tolerance", report.tolerance},
          {"chosen_precision", chosen ? nlohmann::json(chosen->precision) : nlohmann::json()},
          {"winner", chosen ? to_json(*chosen->winner, chosen->flops) : nlohmann::json()},
          {"tuning_s", report.tuning_seconds},
          {"sweeps", std::move(sweeps)}};
}

}  // namespace fusetune::cli
