// fusetune cache export | import | merge: tuning results shipped between machines and merged.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "cache/database.h"
#include "cache/transfer.h"
#include "generator/spec_parser.h"
#include "runtime/import_checks.h"
#include "tools/cache_commands.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/terminal_text.h"

namespace fusetune::cli {
namespace {

struct TransferArgs {
  std::string file;
  std::string database;
  std::string spec;
  bool with_binaries = false;
  bool force = false;
  bool json = false;
  bool trust_binaries = false;
};

// What an import or merge takes from the file (README, "Sharing results"): configurations and
// timings that pass the generator's checks, and cubins only when the user trusts them.
cache::MergeOptions merge_options(const TransferArgs& args) {
  return {.trust_binaries = args.trust_binaries, .check = import_problem};
}

int export_command(const TransferArgs& args) {
  // The spec first: a bad one is bad usage, whatever the database.
  const std::string signature = args.spec.empty() ? "" : parse_spec(args.spec).signature();
  const std::string path = database_path(args.database);
  const auto db = cache::Database::open(path, cache::OpenMode::read_only);
  cache::ExportOptions options{.path = args.file,
                               .signature = signature,
                               .with_binaries = args.with_binaries,
                               .force = args.force};
  if (!signature.empty()) {
    if (db->find_tunings(options.signature).empty()) {
      fmt::print(stderr, "{} holds no tuning of {}; nothing exported\n", path, options.signature);
      return kFailure;
    }
  }
  const cache::ExportSummary s = cache::export_tunings(*db, options);
  fmt::print("exported {} tunings ({} candidates, {} binaries) from {} to {}\n", s.tunings,
             s.candidates, s.binaries, path, args.file);
  return kSuccess;
}

void print_merge(const cache::MergeSummary& s, const std::string& source, const std::string& db,
                 bool json) {
  if (json) {
    nlohmann::json j = {{"source", source},
                        {"database", db},
                        {"tunings_added", s.tunings_added},
                        {"tunings_merged", s.tunings_merged},
                        {"tunings_unchanged", s.tunings_unchanged},
                        {"candidates_added", s.candidates_added},
                        {"candidates_replaced", s.candidates_replaced},
                        {"binaries_copied", s.binaries_copied},
                        {"binaries_left_out", s.binaries_left_out},
                        {"winners_to_reverify", s.winners_to_reverify}};
    print_json(std::move(j));
    return;
  }
  fmt::print(
      "{} into {}: {} tunings added, {} merged, {} unchanged; {} candidates added, {} replaced by "
      "better results; {} binaries copied\n",
      source, db, s.tunings_added, s.tunings_merged, s.tunings_unchanged, s.candidates_added,
      s.candidates_replaced, s.binaries_copied);
  if (s.binaries_left_out > 0)
    fmt::print(
        "{} binaries left out: their kernels are compiled from source when first used "
        "(--trust-binaries copies a trusted source's)\n",
        s.binaries_left_out);
  if (s.winners_to_reverify > 0)
    fmt::print(
        "{} winners measured here stay until faster results from {} are timed here: `fusetune "
        "tune --misses` re-verifies them\n",
        s.winners_to_reverify, source);
}

int import_command(const TransferArgs& args) {
  const std::string path = database_path(args.database);
  print_merge(cache::import_file(args.file, path, merge_options(args)), args.file, path, args.json);
  return kSuccess;
}

int merge_command(const TransferArgs& args) {
  const std::string path = database_path(args.database);
  print_merge(cache::merge_database_file(args.file, path, merge_options(args)), args.file, path,
              args.json);
  return kSuccess;
}

// A subcommand whose arguments live as long as the app, with FILE and --db.
CLI::App* add_transfer_command(CLI::App& cache, const char* name, const char* description,
                               const char* file_help, std::shared_ptr<TransferArgs>& args) {
  args = std::make_shared<TransferArgs>();
  CLI::App* command = cache.add_subcommand(name, description);
  command->add_option("file", args->file, file_help)->required();
  add_database_option(*command, args->database);
  return command;
}

}  // namespace

void add_cache_transfer_commands(CLI::App& cache, int& exit_code) {
  std::shared_ptr<TransferArgs> ex;
  CLI::App* export_app = add_transfer_command(
      cache, "export", "Write the tunings to a portable JSON file, or to a database copy (.db)",
      "the file to write; a name ending in .db makes an SQLite database", ex);
  export_app->add_option("--spec", ex->spec, "only the tunings of this spec's shape");
  export_app->add_flag("--with-binaries", ex->with_binaries,
                       "carry the compiled cubins in the JSON file (a .db copy always has them)");
  export_app->add_flag("--force", ex->force, "replace the file if it exists");
  export_app->callback([ex, &exit_code] { exit_code = export_command(*ex); });

  std::shared_ptr<TransferArgs> im;
  CLI::App* import_app = add_transfer_command(
      cache, "import", "Merge a file from `cache export` (JSON or .db) into the database",
      "the JSON export or database file to import", im);
  import_app->add_flag("--json", im->json, "print the summary as JSON");
  import_app->add_flag("--trust-binaries", im->trust_binaries,
                       "also copy the file's cubins (a source you trust, such as your team's own "
                       "shards); by default kernels are compiled from source when first used");
  import_app->callback([im, &exit_code] { exit_code = import_command(*im); });

  std::shared_ptr<TransferArgs> merge;
  CLI::App* merge_app = add_transfer_command(
      cache, "merge",
      "Merge another tuning database into this one, keeping the better result of each candidate",
      "the other database (only read)", merge);
  merge_app->add_flag("--json", merge->json, "print the summary as JSON");
  merge_app->add_flag("--trust-binaries", merge->trust_binaries,
                      "also copy the other database's cubins (a source you trust); by default "
                      "kernels are compiled from source when first used");
  merge_app->callback([merge, &exit_code] { exit_code = merge_command(*merge); });
}

}  // namespace fusetune::cli
