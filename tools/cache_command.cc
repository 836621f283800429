// fusetune cache ls | show SPEC: what the tuning database, and the system one beneath it, hold; and
// the other cache commands (tools/cache_commands.h) under the same command.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "cache/database.h"
#include "cache/layers.h"
#include "generator/spec_parser.h"
#include "tools/cache_commands.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/report_format.h"
#include "tools/table.h"
#include "tools/terminal_text.h"
#include "tools/tuning_view.h"

namespace fusetune::cli {
namespace {

struct CacheArgs {
  std::string database;
  std::string system;
  std::string spec;
  bool json = false;
};

// The user database (when its file exists) and the system one (when named and there), both opened
// read-only: listing writes nothing.
struct OpenLayers {
  std::unique_ptr<cache::Database> user;
  std::unique_ptr<cache::Database> system;

  explicit OpenLayers(const CacheArgs& args)
      : system(cache::Layers::open_system(system_database_path(args.system))) {
    if (const std::string path = database_path(args.database); cache::Database::exists(path))
      user = cache::Database::open(path, cache::OpenMode::read_only);
  }
  cache::Database* of(cache::Layer layer) const {
    return layer == cache::Layer::user ? user.get() : system.get();
  }
  template <class Read>
  std::vector<cache::LayeredTuning> tunings(Read read) const {
    return cache::Layers::merge(user ? read(*user) : std::vector<cache::TuningRecord>{},
                                system ? read(*system) : std::vector<cache::TuningRecord>{});
  }
  nlohmann::json system_path() const {
    return system ? nlohmann::json(system->path()) : nlohmann::json();
  }
};

nlohmann::json layered_json(const cache::LayeredTuning& t) {
  nlohmann::json j = tuning_json(t.record);
  j["layer"] = cache::to_string(t.layer);
  return j;
}

int list(const CacheArgs& args) {
  const std::string path = database_path(args.database);
  const OpenLayers layers(args);
  const std::vector<cache::LayeredTuning> tunings =
      layers.tunings([](cache::Database& db) { return db.tunings(); });
  if (args.json) {
    nlohmann::json all = nlohmann::json::array();
    for (const cache::LayeredTuning& t : tunings) all.push_back(layered_json(t));
    print_json({{"database", path}, {"system_database", layers.system_path()}, {"tunings", all}});
    return kSuccess;
  }
  if (!layers.user && !layers.system) {
    fmt::print("{}: no tuning database yet; 'fusetune tune SPEC' creates it\n", path);
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
               {"updated"},
               {"layer"}});
  for (const auto& [t, layer] : tunings)
    table.add_row({t.spec, t.key.precision, fmt::format("{} ({})", t.key.device_name, t.key.arch),
                   t.winner.empty() ? "(none)" : t.winner, format_ms(t.winner_time_ms),
                   format_tflops(flops_of(t.spec), t.winner_time_ms),
                   format_error(t.winner_rel_err), std::to_string(t.candidate_count), t.updated_at,
                   std::string(cache::to_string(layer))});
  fmt::print(
      "{}{}: {} tuned problems\n", layers.user ? path : path + " (not there)",
      layers.system ? fmt::format(" over the system database {}", layers.system->path()) : "",
      tunings.size());
  if (!table.empty()) fmt::print("\n{}", table.render());
  return kSuccess;
}

int show(const CacheArgs& args) {
  const Spec spec = parse_spec(args.spec);
  const std::string path = database_path(args.database);
  const OpenLayers layers(args);
  // Neither there: opening the user's throws its usual "no tuning database there".
  if (!layers.user && !layers.system) cache::Database::open(path, cache::OpenMode::read_only);
  const std::vector<cache::LayeredTuning> tunings =
      layers.tunings([&](cache::Database& db) { return db.find_tunings(spec.signature()); });
  nlohmann::json all = nlohmann::json::array();
  for (const cache::LayeredTuning& t : tunings) {
    const std::vector<cache::CandidateRecord> candidates =
        layers.of(t.layer)->candidates(t.record.id);
    if (args.json) {
      nlohmann::json j = layered_json(t);
      j["results"] = candidates_json(t.record, candidates, spec.flops());
      all.push_back(std::move(j));
    } else {
      fmt::print("{}{}{}\n", t.layer == cache::Layer::system ? "(system database) " : "",
                 tuning_heading(t.record), candidate_table(candidates, spec.flops()));
    }
  }
  if (args.json) {
    print_json({{"database", path}, {"system_database", layers.system_path()}, {"tunings", all}});
  } else if (tunings.empty()) {
    fmt::print("{} holds no tuning of {}\n", path, spec.signature());
    return kFailure;
  }
  return kSuccess;
}

}  // namespace

void add_cache_command(CLI::App& app, int& exit_code) {
  CLI::App* cache = app.add_subcommand("cache", "Inspect, share and maintain the tuning database");
  cache->require_subcommand(1);

  auto ls_args = std::make_shared<CacheArgs>();
  CLI::App* ls = cache->add_subcommand("ls", "List the tuned problems");
  add_database_option(*ls, ls_args->database);
  add_system_database_option(*ls, ls_args->system);
  ls->add_flag("--json", ls_args->json, "print JSON");
  ls->callback([ls_args, &exit_code] { exit_code = list(*ls_args); });

  auto show_args = std::make_shared<CacheArgs>();
  CLI::App* show_command =
      cache->add_subcommand("show", "Show every candidate measured for a spec, best first");
  show_command->add_option("spec", show_args->spec, "the fused operation")->required();
  add_database_option(*show_command, show_args->database);
  add_system_database_option(*show_command, show_args->system);
  show_command->add_flag("--json", show_args->json, "print JSON");
  show_command->callback([show_args, &exit_code] { exit_code = show(*show_args); });

  add_cache_explain_command(*cache, exit_code);
  add_cache_transfer_commands(*cache, exit_code);
  add_cache_diff_command(*cache, exit_code);
  add_cache_prune_command(*cache, exit_code);
  add_cache_plot_command(*cache, exit_code);
}

}  // namespace fusetune::cli
