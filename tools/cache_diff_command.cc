// fusetune cache diff A B: how two tuning databases differ, key by key.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "cache/database.h"
#include "cache/diff.h"
#include "tools/cache_commands.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/report_format.h"
#include "tools/table.h"
#include "tools/terminal_text.h"
#include "tools/tuning_view.h"

namespace fusetune::cli {
namespace {

using cache::TuningDiff;

struct DiffArgs {
  std::string a;
  std::string b;
  bool json = false;
};

constexpr TuningDiff::Kind kKinds[] = {TuningDiff::Kind::only_in_a, TuningDiff::Kind::only_in_b,
                                       TuningDiff::Kind::same_winner,
                                       TuningDiff::Kind::different_winners};

const char* kind_name(TuningDiff::Kind kind) {
  switch (kind) {
    case TuningDiff::Kind::only_in_a:
      return "only_in_a";
    case TuningDiff::Kind::only_in_b:
      return "only_in_b";
    case TuningDiff::Kind::same_winner:
      return "same_winner";
    case TuningDiff::Kind::different_winners:
      return "different_winners";
  }
  return "";
}

nlohmann::json diff_json(const TuningDiff& d) {
  nlohmann::json j = {{"spec", d.spec}};
  j.update(key_json(d.key));
  if (d.kind != TuningDiff::Kind::only_in_b) {
    j["a_winner"] = d.a_winner;
    j["a_time_ms"] = optional_json(d.a_time_ms);
  }
  if (d.kind != TuningDiff::Kind::only_in_a) {
    j["b_winner"] = d.b_winner;
    j["b_time_ms"] = optional_json(d.b_time_ms);
  }
  if (d.kind == TuningDiff::Kind::same_winner || d.kind == TuningDiff::Kind::different_winners)
    j["ratio"] = optional_json(d.ratio());
  return j;
}

std::string ratio_text(const TuningDiff& d) {
  return d.ratio() ? fmt::format("{:.3f}", *d.ratio()) : "-";
}

std::string winner_text(const std::string& name) { return name.empty() ? "(none)" : name; }

// The columns after the key for one kind of difference, and a row's cells there.
std::vector<Table::Column> side_columns(TuningDiff::Kind kind) {
  switch (kind) {
    case TuningDiff::Kind::only_in_a:
    case TuningDiff::Kind::only_in_b:
      return {{"winner"}, {"ms", true}};
    case TuningDiff::Kind::same_winner:
      return {{"winner"}, {"A ms", true}, {"B ms", true}, {"B/A", true}};
    case TuningDiff::Kind::different_winners:
      return {{"A winner"}, {"A ms", true}, {"B winner"}, {"B ms", true}, {"B/A", true}};
  }
  return {};
}

std::vector<std::string> side_cells(const TuningDiff& d) {
  switch (d.kind) {
    case TuningDiff::Kind::only_in_a:
      return {winner_text(d.a_winner), format_ms(d.a_time_ms)};
    case TuningDiff::Kind::only_in_b:
      return {winner_text(d.b_winner), format_ms(d.b_time_ms)};
    case TuningDiff::Kind::same_winner:
      return {winner_text(d.a_winner), format_ms(d.a_time_ms), format_ms(d.b_time_ms),
              ratio_text(d)};
    case TuningDiff::Kind::different_winners:
      return {winner_text(d.a_winner), format_ms(d.a_time_ms), winner_text(d.b_winner),
              format_ms(d.b_time_ms), ratio_text(d)};
  }
  return {};
}

// The table of one kind of difference: the key, then what each side holds.
std::string diff_table(const std::vector<TuningDiff>& diffs, TuningDiff::Kind kind) {
  std::vector<Table::Column> columns = {
      {"spec"}, {"precision"}, {"device"}, {"NVRTC"}, {"generator"}};
  for (Table::Column& column : side_columns(kind)) columns.push_back(std::move(column));
  Table table(std::move(columns));
  for (const TuningDiff& d : diffs) {
    if (d.kind != kind) continue;
    std::vector<std::string> row = {
        d.spec, d.key.precision,
        fmt::format("{} ({}, {} SMs)", d.key.device_name, d.key.arch, d.key.sm_count),
        d.key.nvrtc_version, d.key.generator_version};
    for (std::string& cell : side_cells(d)) row.push_back(std::move(cell));
    table.add_row(std::move(row));
  }
  return table.render();
}

int diff_command(const DiffArgs& args) {
  const auto a = cache::Database::open(args.a, cache::OpenMode::read_only);
  const auto b = cache::Database::open(args.b, cache::OpenMode::read_only);
  const std::vector<TuningDiff> diffs = cache::diff_databases(*a, *b);
  if (args.json) {
    nlohmann::json j = {{"a", args.a}, {"b", args.b}};
    for (TuningDiff::Kind kind : kKinds) j[kind_name(kind)] = nlohmann::json::array();
    for (const TuningDiff& d : diffs) j[kind_name(d.kind)].push_back(diff_json(d));
    print_json(std::move(j));
    return kSuccess;
  }
  fmt::print("A = {}\nB = {}\n", args.a, args.b);
  const char* titles[] = {"only in A", "only in B", "same winner", "different winners"};
  for (std::size_t i = 0; i < std::size(kKinds); ++i) {
    const auto count = std::count_if(diffs.begin(), diffs.end(),
                                     [&](const TuningDiff& d) { return d.kind == kKinds[i]; });
    fmt::print("\n{}: {}\n", titles[i], count);
    if (count > 0) fmt::print("{}", diff_table(diffs, kKinds[i]));
  }
  return kSuccess;
}

}  // namespace

void add_cache_diff_command(CLI::App& cache, int& exit_code) {
  auto args = std::make_shared<DiffArgs>();
  CLI::App* diff = cache.add_subcommand(
      "diff", "Compare two tuning databases key by key: what only one holds, and their winners");
  diff->add_option("a", args->a, "the first database (only read)")->required();
  diff->add_option("b", args->b, "the second database (only read)")->required();
  diff->add_flag("--json", args->json, "print JSON");
  diff->callback([args, &exit_code] { exit_code = diff_command(*args); });
}

}  // namespace fusetune::cli
