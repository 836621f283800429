#include "tools/batch_report.h"

#include <fmt/format.h>

#include <algorithm>

#include "tools/report_format.h"
#include "tools/table.h"

namespace fusetune::cli {
namespace {

bool compile_only(const AutoTuneReport& report) {
  return !report.sweeps.empty() && report.sweeps.front().compile_only;
}

bool from_cache(const AutoTuneReport& report) {
  return std::ranges::all_of(report.sweeps, [](const TuneReport& r) { return r.from_cache; });
}

// Soft keys changed and no precision needed a full sweep.
bool reverified(const AutoTuneReport& report) {
  return std::ranges::all_of(
      report.sweeps, [](const TuneReport& r) { return r.from_cache || !r.reverified.empty(); });
}

// "24/24" (compiled of candidates), or "24/24 (10 found in the database)", over every sweep.
std::string compiled_count(const AutoTuneReport& report) {
  int compiled = 0, candidates = 0, found = 0;
  for (const TuneReport& sweep : report.sweeps) {
    compiled += sweep.compiled;
    candidates += sweep.candidates;
    found += sweep.from_database;
  }
  if (found == 0) return fmt::format("{}/{}", compiled, candidates);
  return fmt::format("{}/{} ({} found in the database)", compiled, candidates, found);
}

std::string precision_of(const SpecOutcome& outcome) {
  if (!outcome.report) return "-";
  const TuneReport* chosen = outcome.report->chosen_sweep();
  if (!outcome.is_auto) return outcome.report->sweeps.front().precision;
  return chosen ? "auto: " + chosen->precision : "auto";
}

// The summary table's word for what became of the spec.
std::string verdict(const SpecOutcome& outcome) {
  if (!outcome.succeeded()) return "failed";
  if (compile_only(*outcome.report)) return "compiled " + compiled_count(*outcome.report);
  if (from_cache(*outcome.report)) return "from cache";
  return reverified(*outcome.report) ? "re-verified" : "tuned";
}

}  // namespace

std::string failure(const SpecOutcome& outcome) {
  if (outcome.succeeded()) return "";
  if (!outcome.report) return outcome.error;
  if (compile_only(*outcome.report)) return "a sweep compiled no candidate";
  if (outcome.is_auto)
    return fmt::format("no precision has a winner within {:g}", outcome.report->tolerance);
  return fmt::format("no candidate passed verification; 'fusetune cache show \"{}\"' lists why",
                     outcome.spec);
}

std::string result_line(const SpecOutcome& outcome) {
  if (!outcome.succeeded()) return "failed: " + failure(outcome);
  const AutoTuneReport& report = *outcome.report;
  if (compile_only(report))
    return fmt::format("compiled {} in {:.1f} s", compiled_count(report), outcome.seconds);
  const TuneReport& chosen = *report.chosen_sweep();
  return fmt::format("{} {} ms at {}, {}", chosen.winner->name, format_ms(chosen.winner->time_ms),
                     chosen.precision,
                     from_cache(report) ? std::string("from cache")
                                        : fmt::format("tuned in {:.1f} s", outcome.seconds));
}

std::string summary_table(const std::vector<SpecOutcome>& outcomes) {
  Table table({{"spec"}, {"precision"}, {"winner"}, {"ms", true}, {"result"}, {"s", true}});
  for (const SpecOutcome& outcome : outcomes) {
    const TuneReport* chosen = outcome.report ? outcome.report->chosen_sweep() : nullptr;
    table.add_row({outcome.spec, precision_of(outcome), chosen ? chosen->winner->name : "-",
                   format_ms(chosen ? chosen->winner->time_ms : std::nullopt), verdict(outcome),
                   fmt::format("{:.1f}", outcome.seconds)});
  }
  return table.render();
}

nlohmann::json to_json(const std::vector<SpecOutcome>& outcomes, const std::string& database) {
  nlohmann::json reports = nlohmann::json::array();
  nlohmann::json failed = nlohmann::json::array();
  for (const SpecOutcome& outcome : outcomes) {
    if (outcome.report)
      reports.push_back(to_json(*outcome.report, outcome.is_auto, database));
    else
      reports.push_back({{"spec", outcome.spec}, {"error", outcome.error}});
    if (!outcome.succeeded()) failed.push_back(outcome.spec);
  }
  return {{"database", database},
          {"specs", outcomes.size()},
          {"succeeded", outcomes.size() - failed.size()},
          {"failed", std::move(failed)},
          {"reports", std::move(reports)}};
}

}  // namespace fusetune::cli
