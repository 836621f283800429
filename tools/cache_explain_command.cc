// fusetune cache explain SPEC: why each stored tuning of a spec chose its winner; for a call
// never tuned on its own, those of the bucket of row counts whose kernel serves it.
#include <fmt/format.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cache/database.h"
#include "cache/merge.h"
#include "cache/winner_rule.h"
#include "generator/row_buckets.h"
#include "generator/spec_parser.h"
#include "tools/cache_commands.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/report_format.h"
#include "tools/terminal_text.h"
#include "tools/tuning_view.h"

namespace fusetune::cli {
namespace {

struct ExplainArgs {
  std::string spec;
  std::string database;
  std::string precision;
  bool json = false;
};

// What decided a tuning: the winner, the next best, and how the candidates fared.
struct Verdict {
  const cache::CandidateRecord* winner = nullptr;
  const cache::CandidateRecord* runner_up = nullptr;  // the next finalist, else the best screened
  std::optional<double> margin_percent;               // how much longer the runner-up takes
  int finalists = 0;                                  // "ok": verified and timed in full
  int screened = 0;                                   // "slower": verified, screened out
  std::map<std::string, int> failures;                // by outcome
  std::optional<cache::WinnerReason> reason;          // by cache/winner_rule.h, from the rows
  std::optional<std::string>
      challenger;       // merged from elsewhere, ahead of the winner, untimed here
  std::string refused;  // why the winner's configuration is refused, or ""
};

// Why the stored winner won, by the winner rule on the stored finalists; empty where the rule
// picks another (rows merged in from elsewhere after the winner was chosen).
std::optional<cache::WinnerReason> winner_reason(
    const cache::TuningRecord& t, const std::vector<cache::CandidateRecord>& candidates) {
  std::vector<cache::TimedCandidate> timed;
  for (const cache::CandidateRecord& c : candidates)
    if (c.outcome == "ok" && c.time_ms) timed.push_back({c.name, *c.time_ms, c.time_noise});
  const std::optional<cache::WinnerChoice> choice =
      cache::choose_winner_with_reason(timed, t.incumbent);
  if (!choice || timed[choice->index].name != t.winner) return std::nullopt;
  return choice->reason;
}

Verdict judge(const cache::TuningRecord& t, const std::vector<cache::CandidateRecord>& candidates) {
  Verdict v;
  for (const cache::CandidateRecord& c : candidates) {
    if (c.outcome == "ok")
      ++v.finalists;
    else if (c.outcome == "slower")
      ++v.screened;
    else
      ++v.failures[c.outcome];
    if (!t.winner.empty() && c.name == t.winner) {
      v.winner = &c;
    } else if (v.runner_up == nullptr && c.time_ms &&
               (c.outcome == "ok" || c.outcome == "slower")) {
      v.runner_up = &c;  // candidates come fastest finalist first, then the screened by time
    }
  }
  if (v.winner != nullptr && v.runner_up != nullptr && v.winner->time_ms && *v.winner->time_ms > 0)
    v.margin_percent = (*v.runner_up->time_ms / *v.winner->time_ms - 1) * 100;
  if (v.winner != nullptr) v.reason = winner_reason(t, candidates);
  v.challenger = cache::unconfirmed_challenger(t, candidates);
  if (!t.winner.empty()) v.refused = config_refusal(t, t.winner_config_json);
  return v;
}

int failed_count(const Verdict& v) {
  int failed = 0;
  for (const auto& [outcome, count] : v.failures) failed += count;
  return failed;
}

std::string verdict_text(const cache::TuningRecord& t, const Verdict& v, std::size_t candidates,
                         double flops) {
  std::string text = fmt::format("first tuned {}\n", printable(t.created_at));
  if (v.winner == nullptr) {
    text += "no winner: no candidate both ran correctly and was timed in full\n";
  } else {
    text += fmt::format("winner     {}: {} ms ({} TFLOP/s), rel err {}\n",
                        printable(v.winner->name), format_ms(v.winner->time_ms),
                        format_tflops(flops, v.winner->time_ms), format_error(v.winner->rel_err));
    if (v.reason) text += fmt::format("chosen as  {}\n", cache::describe(*v.reason));
    if (!t.incumbent.empty() && t.incumbent != t.winner)
      text += fmt::format("replaced   {}, the previous winner\n", printable(t.incumbent));
    if (!v.refused.empty())
      text += fmt::format(
          "refused    the winner's configuration: {}; loads serve the spec as if "
          "untuned\n",
          printable(v.refused));
    if (v.challenger)
      text += fmt::format(
          "pending    {}, merged from elsewhere, ranks ahead of the winner; the "
          "winner stays until `fusetune tune` times both here\n",
          printable(*v.challenger));
  }
  if (v.runner_up != nullptr) {
    text += fmt::format("runner-up  {}{}: {} ms", printable(v.runner_up->name),
                        v.runner_up->outcome == "slower" ? " (screened out)" : "",
                        format_ms(v.runner_up->time_ms));
    if (v.margin_percent)
      text += fmt::format(", {:.1f}% slower than the winner", *v.margin_percent);
    text += '\n';
  }
  std::string failures;
  for (const auto& [outcome, count] : v.failures)
    failures += fmt::format("{}{} {}", failures.empty() ? "" : ", ", printable(outcome), count);
  text += fmt::format(
      "candidates {}: {} verified ({} timed in full, {} screened out as slower), {} failed{}\n\n",
      candidates, v.finalists + v.screened, v.finalists, v.screened, failed_count(v),
      failures.empty() ? "" : " (" + failures + ")");
  return text;
}

nlohmann::json verdict_json(const Verdict& v) {
  auto named = [](const cache::CandidateRecord* c) {
    if (c == nullptr) return nlohmann::json();
    return nlohmann::json{
        {"name", c->name}, {"outcome", c->outcome}, {"time_ms", optional_json(c->time_ms)}};
  };
  return {
      {"winner", named(v.winner)},
      {"chosen_as", v.reason ? nlohmann::json(cache::describe(*v.reason)) : nlohmann::json()},
      {"runner_up", named(v.runner_up)},
      {"margin_percent", optional_json(v.margin_percent)},
      {"verified", v.finalists + v.screened},
      {"finalists", v.finalists},
      {"screened_out", v.screened},
      {"failed", failed_count(v)},
      {"failures", v.failures},
      {"unconfirmed_challenger", v.challenger ? nlohmann::json(*v.challenger) : nlohmann::json()},
      {"winner_refused", v.refused.empty() ? nlohmann::json() : nlohmann::json(v.refused)}};
}

// The bucket whose kernel serves `shape` (a call of one row count with no tuning of its own), as
// the library chooses it: the narrowest tuned range that holds its rows.
std::optional<Spec> serving_bucket(const Spec& shape, cache::Database& db) {
  std::vector<std::string> tuned;
  for (const cache::TuningRecord& t : db.tunings()) tuned.push_back(t.spec);
  std::vector<Spec> buckets = buckets_serving(shape, tuned);
  if (buckets.empty()) return std::nullopt;
  return buckets.front();
}

int explain(const ExplainArgs& args) {
  const Spec asked = parse_spec(args.spec);
  const std::string path = database_path(args.database);
  const auto db = cache::Database::open(path, cache::OpenMode::read_only);
  std::vector<cache::TuningRecord> tunings = db->find_tunings(asked.signature());
  // A call never tuned on its own is explained by the bucket that serves it.
  const std::optional<Spec> bucket = tunings.empty() ? serving_bucket(asked, *db) : std::nullopt;
  if (bucket) {
    tunings = db->find_tunings(bucket->signature());
    if (!args.json)
      fmt::print(
          "{} has no tuning of its own: its kernel is the winner of the bucket {}, which takes "
          "its {} rows at launch (no compile). The bucket's times are at its top, {} rows:\n\n",
          printable(asked.canonical()), printable(bucket->canonical()), asked.main.m,
          bucket->main.m);
  }
  const Spec& spec = bucket ? *bucket : asked;
  nlohmann::json all = nlohmann::json::array();
  int shown = 0;
  for (const cache::TuningRecord& t : tunings) {
    if (!args.precision.empty() && t.key.precision != args.precision) continue;
    ++shown;
    const std::vector<cache::CandidateRecord> candidates = db->candidates(t.id);
    const Verdict verdict = judge(t, candidates);
    if (!args.json) {
      fmt::print("{}{}{}\n", tuning_heading(t),
                 verdict_text(t, verdict, candidates.size(), spec.flops()),
                 candidate_table(candidates, spec.flops()));
      continue;
    }
    nlohmann::json j = tuning_json(t);
    j["explanation"] = verdict_json(verdict);
    j["results"] = candidates_json(t, candidates, spec.flops());
    all.push_back(std::move(j));
  }
  // As `cache show`: JSON lists what there is, even nothing; text says that nothing is a failure.
  if (args.json) {
    nlohmann::json document{{"database", path}, {"tunings", all}};
    if (bucket) document["served_by_bucket"] = bucket->canonical();
    print_json(std::move(document));
  } else if (shown == 0) {
    fmt::print("{} holds no tuning of {}{}\n", path, spec.signature(),
               args.precision.empty() ? "" : " at precision " + args.precision);
    return kFailure;
  }
  return kSuccess;
}

}  // namespace

void add_cache_explain_command(CLI::App& cache, int& exit_code) {
  auto args = std::make_shared<ExplainArgs>();
  CLI::App* explain_app =
      cache.add_subcommand("explain", "Explain why each stored tuning of a spec chose its winner");
  explain_app->add_option("spec", args->spec, "the fused operation")->required();
  add_database_option(*explain_app, args->database);
  explain_app->add_option("--precision", args->precision, "only tunings at this precision")
      ->check(precision_names());
  explain_app->add_flag("--json", args->json, "print JSON");
  explain_app->callback([args, &exit_code] { exit_code = explain(*args); });
}

}  // namespace fusetune::cli
