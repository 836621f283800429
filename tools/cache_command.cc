// fusetune cache ls | show SPEC: what the tuning database holds.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cache/database.h"
#include "generator/spec_parser.h"
#include "tools/commands.h"
#include "tools/report_format.h"
#include "tools/table.h"

namespace fusetune::cli {
namespace {

struct CacheArgs {
  std::string database;
  std::string spec;
  bool json = false;
};

// The spec's work, for TFLOP/s; 0 when the stored text no longer parses.
double flops_of(const std::string& spec) {
  try {
    return parse_spec(spec).flops();
  } catch (const Error&) {
    return 0;
  }
}

nlohmann::json tuning_json(const cache::TuningRecord& t) {
  return {{"spec", t.spec},
          {"signature", t.key.signature},
          {"precision", t.key.precision},
          {"device", t.key.device_name},
          {"arch", t.key.arch},
          {"sm_count", t.key.sm_count},
          {"nvrtc_version", t.key.nvrtc_version},
          {"generator_version", t.key.generator_version},
          {"driver_version", t.driver_version},
          {"winner", t.winner},
          {"time_ms", t.winner_time_ms ? nlohmann::json(*t.winner_time_ms) : nlohmann::json()},
          {"rel_err", t.winner_rel_err ? nlohmann::json(*t.winner_rel_err) : nlohmann::json()},
          {"candidates", t.candidate_count},
          {"tuning_s", t.tuning_seconds},
          {"created_at", t.created_at},
          {"updated_at", t.updated_at}};
}

int list(const CacheArgs& args) {
  const std::string path = database_path(args.database);
  if (!std::filesystem::exists(path)) {
    if (args.json)
      std::cout << nlohmann::json{{"database", path}, {"tunings", nlohmann::json::array()}}.dump(2)
                << '\n';
    else
      fmt::print("{}: no tuning database yet; 'fusetune tune SPEC' creates it\n", path);
    return kSuccess;
  }
  const auto db = cache::Database::open(path, cache::OpenMode::read_only);
  const std::vector<cache::TuningRecord> tunings = db->tunings();
  if (args.json) {
    nlohmann::json all = nlohmann::json::array();
    for (const cache::TuningRecord& t : tunings) all.push_back(tuning_json(t));
    std::cout << nlohmann::json{{"database", path}, {"tunings", all}}.dump(2) << '\n';
    return kSuccess;
  }
  Table table({{"spec"},
               {"precision"},
               {"device"},
               {"winner"},
               {"ms", true},
               {"TFLOP/s", true},
               {"rel err", true},
               {"candidates", true},
               {"updated"}});
  for (const cache::TuningRecord& t : tunings)
    table.add_row({t.spec, t.key.precision, fmt::format("{} ({})", t.key.device_name, t.key.arch),
                   t.winner.empty() ? "(none)" : t.winner, format_ms(t.winner_time_ms),
                   format_tflops(flops_of(t.spec), t.winner_time_ms),
                   format_error(t.winner_rel_err), std::to_string(t.candidate_count),
                   t.updated_at});
  fmt::print("{}: {} tuned problems\n", path, tunings.size());
  if (!table.empty()) fmt::print("\n{}", table.render());
  return kSuccess;
}

int show(const CacheArgs& args) {
  const Spec spec = parse_spec(args.spec);
  const std::string path = database_path(args.database);
  const auto db = cache::Database::open(path, cache::OpenMode::read_only);
  const std::vector<cache::TuningRecord> tunings = db->find_tunings(spec.signature());
  nlohmann::json all = nlohmann::json::array();
  for (const cache::TuningRecord& t : tunings) {
    const std::vector<cache::CandidateRecord> candidates = db->candidates(t.id);
    if (args.json) {
      nlohmann::json j = tuning_json(t);
      j["results"] = nlohmann::json::array();
      for (const cache::CandidateRecord& c : candidates) {
        nlohmann::json result = to_json(from_record(c), spec.flops());
        result["measured_at"] = c.measured_at;
        j["results"].push_back(std::move(result));
      }
      all.push_back(std::move(j));
      continue;
    }
    fmt::print(
        "{}\n{} ({}, {} SMs), precision {}, driver {}, NVRTC {}, generator {}\n"
        "tuned {} in {:.1f} s; winner {}\n\n",
        t.spec, t.key.device_name, t.key.arch, t.key.sm_count, t.key.precision, t.driver_version,
        t.key.nvrtc_version, t.key.generator_version, t.updated_at, t.tuning_seconds,
        t.winner.empty() ? "(none)" : t.winner);
    Table table({{"#", true},
                 {"config"},
                 {"outcome"},
                 {"ms", true},
                 {"TFLOP/s", true},
                 {"rel err", true},
                 {"regs", true},
                 {"smem KiB", true},
                 {"spills", true},
                 {"message"}});
    int rank = 0;
    for (const cache::CandidateRecord& c : candidates) {
      std::string message = c.message.substr(0, c.message.find('\n'));
      if (message.size() > 60) message = message.substr(0, 57) + "...";
      table.add_row({std::to_string(++rank), c.name, c.outcome, format_ms(c.time_ms),
                     format_tflops(spec.flops(), c.time_ms), format_error(c.rel_err),
                     std::to_string(c.registers), format_kib(c.smem_bytes),
                     std::to_string(c.spill_bytes), message});
    }
    fmt::print("{}\n", table.render());
  }
  if (args.json) {
    std::cout << nlohmann::json{{"database", path}, {"tunings", all}}.dump(2) << '\n';
  } else if (tunings.empty()) {
    fmt::print("{} holds no tuning of {}\n", path, spec.signature());
    return kFailure;
  }
  return kSuccess;
}

}  // namespace

void add_cache_command(CLI::App& app, int& exit_code) {
  CLI::App* cache = app.add_subcommand("cache", "Inspect the tuning database");
  cache->require_subcommand(1);

  auto ls_args = std::make_shared<CacheArgs>();
  CLI::App* ls = cache->add_subcommand("ls", "List the tuned problems");
  add_database_option(*ls, ls_args->database);
  ls->add_flag("--json", ls_args->json, "print JSON");
  ls->callback([ls_args, &exit_code] { exit_code = list(*ls_args); });

  auto show_args = std::make_shared<CacheArgs>();
  CLI::App* show_command =
      cache->add_subcommand("show", "Show every candidate measured for a spec, best first");
  show_command->add_option("spec", show_args->spec, "the fused operation")->required();
  add_database_option(*show_command, show_args->database);
  show_command->add_flag("--json", show_args->json, "print JSON");
  show_command->callback([show_args, &exit_code] { exit_code = show(*show_args); });
}

}  // namespace fusetune::cli
