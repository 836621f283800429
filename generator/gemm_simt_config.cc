#include "generator/gemm_simt_config.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <regex>

namespace fusetune {

EdgeGuards edge_guards(const MainOp& main, const GemmSimtConfig& config) {
  return {main.m % config.block_m() != 0, main.n % config.block_n() != 0, main.k % config.bk != 0};
}

std::string config_name(const MainOp& main, const GemmSimtConfig& c) {
  std::string name = fmt::format("ft_gemm_simt_{}x{}x{}_w{}x{}_t{}x{}_s{}_{}", c.block_m(),
                                 c.block_n(), c.bk, c.warps_m, c.warps_n, c.thread_tile_m(),
                                 c.thread_tile_n(), c.stages, c.lane_n_fastest ? 'n' : 'm');
  if (c.spread_fill) name += "_spread";
  if (c.min_blocks > 1) name += fmt::format("_occ{}", c.min_blocks);
  if (!main.a_k_contiguous()) name += fmt::format("_va{}", c.vec_a);
  if (!main.b_k_contiguous()) name += fmt::format("_vb{}", c.vec_b);
  if (c.splits > 1) name += fmt::format("_k{}", c.splits);
  return name + guard_suffix(edge_guards(main, c));
}

std::optional<GemmSimtConfig> parse_gemm_simt_name(std::string_view name, std::string* why) {
  static const std::regex pattern(
      R"(ft_gemm_simt_(\d{1,4})x(\d{1,4})x(\d{1,4})_w(\d{1,2})x(\d{1,2})_t(\d{1,3})x(\d{1,3}))"
      R"(_s(\d{1,2})_([nm])(_spread)?(?:_occ(\d))?(?:_va(\d))?(?:_vb(\d))?(?:_k(\d{1,3}))?(?:_g[mnk]+)?)");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(name.begin(), name.end(), match, pattern)) {
    if (why) *why = "it is not of the form ft_gemm_simt_<BM>x<BN>x<BK>_w<WM>x<WN>_t<TM>x<TN>_...";
    return std::nullopt;
  }
  // The regex admits at most 4 digits, so every size fits an int with room for products.
  auto number = [&](int group, int absent) {
    return match[group].matched ? std::stoi(match[group].str()) : absent;
  };
  auto inconsistent = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  GemmSimtConfig c;
  const int block_m = number(1, 0), block_n = number(2, 0);
  c.bk = number(3, 0);
  c.warps_m = number(4, 0);
  c.warps_n = number(5, 0);
  const int tile_m = number(6, 0), tile_n = number(7, 0);
  c.stages = number(8, 0);
  c.lane_n_fastest = match[9].str() == "n";
  c.spread_fill = match[10].matched;
  c.min_blocks = number(11, 1);
  c.vec_a = number(12, 1);
  c.vec_b = number(13, 1);
  c.splits = number(14, 1);
  if (tile_m == 0 || tile_n == 0 || tile_m % 4 || tile_n % 4)
    return inconsistent("thread tiles are multiples of 4 (4x4 fragments)");
  if (c.warps_m == 0 || c.warps_n == 0) return inconsistent("a block has at least one warp");
  c.rep_m = tile_m / 4;
  c.rep_n = tile_n / 4;
  if (block_m % (c.warps_m * tile_m) || block_n % (c.warps_n * tile_n))
    return inconsistent(
        fmt::format("a {}x{} block tile does not split into {}x{} warps of {}x{} "
                    "thread tiles",
                    block_m, block_n, c.warps_m, c.warps_n, tile_m, tile_n));
  c.lanes_m = block_m / (c.warps_m * tile_m);
  c.lanes_n = block_n / (c.warps_n * tile_n);
  if (c.lanes_m * c.lanes_n != 32)
    return inconsistent(fmt::format("its sizes give each warp {}x{} = {} lanes, not 32", c.lanes_m,
                                    c.lanes_n, c.lanes_m * c.lanes_n));
  return c;
}

nlohmann::json to_json(const GemmSimtConfig& c) {
  return {{"family", "gemm_simt"},
          {"warps_m", c.warps_m},
          {"warps_n", c.warps_n},
          {"lanes_m", c.lanes_m},
          {"lanes_n", c.lanes_n},
          {"rep_m", c.rep_m},
          {"rep_n", c.rep_n},
          {"bk", c.bk},
          {"stages", c.stages},
          {"lane_n_fastest", c.lane_n_fastest},
          {"spread_fill", c.spread_fill},
          {"min_blocks", c.min_blocks},
          {"vec_a", c.vec_a},
          {"vec_b", c.vec_b},
          {"splits", c.splits}};
}

GemmSimtConfig gemm_simt_from_json(const nlohmann::json& j) {
  GemmSimtConfig c;
  c.warps_m = j.at("warps_m");
  c.warps_n = j.at("warps_n");
  c.lanes_m = j.at("lanes_m");
  c.lanes_n = j.at("lanes_n");
  c.rep_m = j.at("rep_m");
  c.rep_n = j.at("rep_n");
  c.bk = j.at("bk");
  c.stages = j.at("stages");
  c.lane_n_fastest = j.at("lane_n_fastest");
  c.spread_fill = j.at("spread_fill");
  c.min_blocks = j.at("min_blocks");
  c.splits = j.value("splits", 1);  // absent in results stored before split-K
  c.vec_a = j.at("vec_a");
  c.vec_b = j.at("vec_b");
  return c;
}

std::int64_t block_count(const MainOp& main, const GemmSimtConfig& c) {
  return tile_count(main, c.block_m(), c.block_n());
}

std::int64_t k_tile_count(const MainOp& main, const GemmSimtConfig& c) {
  return (main.k + c.bk - 1) / c.bk;
}

std::int64_t k_tiles_per_split(const MainOp& main, const GemmSimtConfig& c) {
  return k_tiles_per_split(k_tile_count(main, c), c.splits);
}

LaunchGeometry launch_geometry(const MainOp& main, const GemmSimtConfig& c) {
  LaunchGeometry g = tile_grid(main, c.block_m(), c.block_n(), c.threads(), c.smem_bytes());
  g.grid[1] = static_cast<unsigned>(c.splits);
  g.workspace_bytes =
      split_k_workspace_bytes(block_count(main, c), c.splits, c.block_m(), c.block_n(), 1);
  return g;
}

}  // namespace fusetune
