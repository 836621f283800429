#include "generator/gemv_simt_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>

#include "fusetune/status.h"

namespace fusetune {

EdgeGuards edge_guards(const MainOp& main, const GemvSimtConfig& c) {
  return edge_guards(main, c.block_m, c.block_n(), c.k_step());
}

std::string config_name(const MainOp& main, const GemvSimtConfig& c) {
  const bool rows = c.layout == GemvLayout::rows;
  std::string name = fmt::format("ft_gemv_simt_{}_m{}_w{}_{}{}_u{}_v{}", rows ? "rows" : "cols",
                                 c.block_m, c.warps, rows ? 'r' : 'c',
                                 rows ? c.rows_per_warp : c.column_threads, c.unroll, c.vec);
  if (c.splits > 1) name += fmt::format("_k{}", c.splits);
  return name + guard_suffix(edge_guards(main, c));
}

std::optional<GemvSimtConfig> parse_gemv_simt_name(std::string_view name, std::string* why) {
  static const std::regex pattern(
      R"(ft_gemv_simt_(rows|cols)_m(\d{1,2})_w(\d{1,2})_([rc])(\d{1,3})_u(\d{1,2})_v(\d))"
      R"((?:_k(\d{1,3}))?(?:_g[mnk]+)?)");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(name.begin(), name.end(), match, pattern)) {
    if (why)
      *why =
          "it is not of the form ft_gemv_simt_<rows|cols>_m<BM>_w<WARPS>_<r|c><N>_u<UNROLL>_v<VEC>"
          "[_k<SPLITS>]";
    return std::nullopt;
  }
  // The regex admits at most 3 digits, so every number fits an int.
  auto number = [&](int group, int absent) {
    return match[group].matched ? std::stoi(match[group].str()) : absent;
  };
  GemvSimtConfig c;
  c.layout = match[1].str() == "rows" ? GemvLayout::rows : GemvLayout::columns;
  if ((c.layout == GemvLayout::rows) != (match[4].str() == "r")) {
    if (why) *why = "a rows name gives rows per warp (_r<N>), a cols name column threads (_c<N>)";
    return std::nullopt;
  }
  c.block_m = number(2, 0);
  c.warps = number(3, 0);
  c.rows_per_warp = c.layout == GemvLayout::rows ? number(5, 0) : 0;
  c.column_threads = c.layout == GemvLayout::columns ? number(5, 0) : 0;
  c.unroll = number(6, 0);
  c.vec = number(7, 0);
  c.splits = number(8, 1);
  return c;
}

nlohmann::json to_json(const GemvSimtConfig& c) {
  return {{"family", "gemv_simt"},
          {"layout", c.layout == GemvLayout::rows ? "rows" : "columns"},
          {"block_m", c.block_m},
          {"warps", c.warps},
          {"rows_per_warp", c.rows_per_warp},
          {"column_threads", c.column_threads},
          {"unroll", c.unroll},
          {"vec", c.vec},
          {"splits", c.splits}};
}

GemvSimtConfig gemv_simt_from_json(const nlohmann::json& j) {
  GemvSimtConfig c;
  const std::string layout = j.at("layout");
  if (layout != "rows" && layout != "columns")
    throw Error(StatusCode::invalid_argument,
                fmt::format("gemv_simt layout '{}' is neither rows nor columns", layout));
  c.layout = layout == "rows" ? GemvLayout::rows : GemvLayout::columns;
  c.block_m = j.at("block_m");
  c.warps = j.at("warps");
  c.rows_per_warp = j.at("rows_per_warp");
  c.column_threads = j.at("column_threads");
  c.unroll = j.at("unroll");
  c.vec = j.at("vec");
  c.splits = j.at("splits");
  return c;
}

std::int64_t block_count(const MainOp& main, const GemvSimtConfig& c) {
  return tile_count(main, c.block_m, c.block_n());
}

std::int64_t k_step_count(const MainOp& main, const GemvSimtConfig& c) {
  return (main.k + c.k_step() - 1) / c.k_step();
}

std::int64_t k_steps_per_split(const MainOp& main, const GemvSimtConfig& c) {
  return k_tiles_per_split(k_step_count(main, c), c.splits);
}

int x_chunk(const MainOp& main, const GemvSimtConfig& c) {
  const std::int64_t split_range = k_steps_per_split(main, c) * c.k_step();
  const std::int64_t room = kGemvXChunkFloats / c.block_m / c.k_step() * c.k_step();
  return static_cast<int>(std::min(split_range, room));
}

int partial_floats(const GemvSimtConfig& c) {
  const int vectors = c.block_m * c.block_n() / 4;
  const int finishers = std::min(c.threads(), (vectors + 31) / 32 * 32);
  const int per_finisher = (vectors + finishers - 1) / finishers;
  return 4 * per_finisher * finishers;
}

int smem_bytes(const MainOp& main, const GemvSimtConfig& c) {
  const int x_floats = c.block_m * (x_chunk(main, c) + 4);
  const int partials = c.k_groups() * c.block_m * c.block_n();
  return 4 * ((std::max(x_floats, partials) + 3) / 4 * 4 + (c.splits > 1 ? 4 : 0));
}

LaunchGeometry launch_geometry(const MainOp& main, const GemvSimtConfig& c) {
  LaunchGeometry g = tile_grid(main, c.block_m, c.block_n(), c.threads(), smem_bytes(main, c));
  g.grid[1] = static_cast<unsigned>(c.splits);
  g.workspace_bytes =
      split_k_workspace_bytes(block_count(main, c), c.splits, partial_floats(c), 1, 1);
  return g;
}

}  // namespace fusetune
