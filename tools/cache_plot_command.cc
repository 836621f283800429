// fusetune cache plot SPEC: draws the landscape of a stored tuning (every candidate's time
// against each tunable, the winner marked) into an SVG file a browser opens.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "cache/database.h"
#include "fusetune/status.h"
#include "generator/spec_parser.h"
#include "tools/cache_commands.h"
#include "tools/commands.h"
#include "tools/landscape.h"
#include "tools/landscape_plot.h"
#include "tools/terminal_text.h"

namespace fusetune::cli {
namespace {

struct PlotArgs {
  std::string spec;
  std::string database;
  std::string precision;
  std::string out;
};

// "linear_m_64_n_64_k_64_relu.fp32.svg": the spec's letters and digits, in the current folder.
std::string default_file_name(const cache::TuningRecord& tuning) {
  std::string name;
  for (const char c : tuning.spec) {
    const bool kept = std::isalnum(static_cast<unsigned char>(c)) || c == '.';
    if (kept)
      name += c;
    else if (!name.empty() && name.back() != '_')
      name += '_';
  }
  while (!name.empty() && name.back() == '_') name.pop_back();
  if (name.size() > 80) name.resize(80);
  return fmt::format("{}.{}.svg", name.empty() ? "tuning" : name, tuning.key.precision);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (file) file << text;
  if (!file.flush())
    throw Error(
        StatusCode::invalid_argument,
        fmt::format("cannot write {}: {}; --out names another file", path, std::strerror(errno)));
}

int plot(const PlotArgs& args) {
  const Spec spec = parse_spec(args.spec);
  const std::string path = database_path(args.database);
  const auto db = cache::Database::open(path, cache::OpenMode::read_only);
  std::vector<cache::TuningRecord> tunings = db->find_tunings(spec.signature());
  const std::string at = args.precision.empty() ? "" : " at precision " + args.precision;
  std::erase_if(tunings, [&](const cache::TuningRecord& t) {
    return !args.precision.empty() && t.key.precision != args.precision;
  });
  if (tunings.empty())
    throw Error(StatusCode::not_found,
                fmt::format("{} holds no tuning of '{}'{}, so there is nothing to plot; `fusetune "
                            "tune \"{}\"{}` tunes it",
                            path, spec.canonical(), at, spec.canonical(),
                            args.precision.empty() ? "" : " --precision " + args.precision));
  const cache::TuningRecord& tuning = tunings.front();  // the most recently updated
  const Landscape landscape = landscape_of(tuning, db->candidates(tuning.id));
  const std::string device =
      fmt::format("{} ({}, {} SMs)", tuning.key.device_name, tuning.key.arch, tuning.key.sm_count);
  if (!landscape.fastest_ms)
    throw Error(StatusCode::not_found,
                fmt::format("the tuning of '{}' at precision {} on {} has no timed candidate, so "
                            "there is nothing to plot; `fusetune cache show \"{}\"` lists why",
                            tuning.spec, tuning.key.precision, device, spec.canonical()));
  const std::string out = args.out.empty() ? default_file_name(tuning) : args.out;
  write_file(out, landscape_svg(landscape, {.spec = tuning.spec,
                                            .precision = tuning.key.precision,
                                            .device = device,
                                            .winner = tuning.winner,
                                            .winner_ms = tuning.winner_time_ms,
                                            .updated_at = tuning.updated_at,
                                            .database = path}));
  fmt::print("wrote {}: {} candidates of '{}' at precision {} on {}, {} tunables that varied\n",
             out, landscape.points.size(), printable(tuning.spec), tuning.key.precision,
             printable(device), landscape.axes.size());
  if (tunings.size() > 1)
    fmt::print("{} holds {} more tunings of it ({}): --precision chooses among precisions\n", path,
               tunings.size() - 1, "other precisions, GPUs or builds");
  return kSuccess;
}

}  // namespace

void add_cache_plot_command(CLI::App& cache, int& exit_code) {
  auto args = std::make_shared<PlotArgs>();
  CLI::App* command = cache.add_subcommand(
      "plot", "Draw a tuning's landscape (each candidate's time against its tunables) as SVG");
  command->add_option("spec", args->spec, "the fused operation")->required();
  add_database_option(*command, args->database);
  command->add_option("--precision", args->precision, "the tuning at this precision")
      ->check(precision_names());
  command->add_option("--out", args->out,
                      "the SVG file to write (default: the spec's letters and digits and the "
                      "precision, .svg, in the current folder)");
  command->callback([args, &exit_code] { exit_code = plot(*args); });
}

}  // namespace fusetune::cli
