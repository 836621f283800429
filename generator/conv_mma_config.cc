#include "generator/conv_mma_config.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <regex>

namespace fusetune {
namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

}  // namespace

int ConvMmaConfig::smem_bytes() const {
  return stages * (bk * (block_m() + 8) + block_n() * (bk + 4)) * 4;
}

int ConvMmaConfig::a_columns() const {
  const int rows = a_rows();
  if (rows < 1 || block_m() % (32 * rows) != 0) return 0;
  const int threads_m = block_m() / rows;
  if (threads() % threads_m != 0) return 0;
  const int threads_k = threads() / threads_m;
  return bk % threads_k == 0 ? bk / threads_k : 0;
}

ConvGemm conv_gemm(const MainOp& main) {
  const ConvGeometry& g = main.conv;
  const std::array<std::int64_t, 3> out = main.conv_output_size();
  return {g.batch * out[0] * out[1] * out[2], g.out_channels / g.groups,
          g.in_channels / g.groups * g.taps(), g.groups};
}

EdgeGuards edge_guards(const ConvGemm& gemm, const ConvMmaConfig& c) {
  return {gemm.m % c.block_m() != 0, gemm.n % c.block_n() != 0, gemm.k % c.bk != 0};
}

std::string config_name(const MainOp& main, const ConvMmaConfig& c) {
  return fmt::format("ft_conv_mma_{}x{}x{}_w{}x{}_s{}_{}_vb{}", c.block_m(), c.block_n(), c.bk,
                     c.warps_m, c.warps_n, c.stages, to_string(c.precision()), c.vec_b) +
         guard_suffix(edge_guards(conv_gemm(main), c));
}

std::optional<ConvMmaConfig> parse_conv_mma_name(std::string_view name, std::string* why) {
  // At most 4 digits per size, so that every size and product fits an int.
  static const std::regex pattern(
      R"(ft_conv_mma_(\d{1,4})x(\d{1,4})x(\d{1,4})_w(\d{1,2})x(\d{1,2})_s(\d{1,2}))"
      R"(_(tf32|3xtf32)_vb(\d)(?:_g[mnk]+)?)");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(name.begin(), name.end(), match, pattern)) {
    if (why)
      *why = "it is not of the form ft_conv_mma_<BM>x<BN>x<BK>_w<WM>x<WN>_s<S>_<tf32|3xtf32>_vb<V>";
    return std::nullopt;
  }
  auto number = [&](int group) { return std::stoi(match[group].str()); };
  ConvMmaConfig c;
  const int block_m = number(1), block_n = number(2);
  c.bk = number(3);
  c.warps_m = number(4);
  c.warps_n = number(5);
  c.stages = number(6);
  c.passes = match[7].str() == "3xtf32" ? 3 : 1;
  c.vec_b = number(8);
  if (c.warps_m == 0 || c.warps_n == 0 || block_m % (16 * c.warps_m) != 0 ||
      block_n % (8 * c.warps_n) != 0 || block_m == 0 || block_n == 0) {
    if (why)
      *why = fmt::format("a {}x{} block tile does not split into {}x{} warps of 16x8 MMA tiles",
                         block_m, block_n, c.warps_m, c.warps_n);
    return std::nullopt;
  }
  c.mma_tiles_m = block_m / (16 * c.warps_m);
  c.mma_tiles_n = block_n / (8 * c.warps_n);
  return c;
}

nlohmann::json to_json(const ConvMmaConfig& c) {
  return {{"family", "conv_mma"},         {"warps_m", c.warps_m},         {"warps_n", c.warps_n},
          {"mma_tiles_m", c.mma_tiles_m}, {"mma_tiles_n", c.mma_tiles_n}, {"bk", c.bk},
          {"stages", c.stages},           {"passes", c.passes},           {"vec_b", c.vec_b}};
}

ConvMmaConfig conv_mma_from_json(const nlohmann::json& j) {
  ConvMmaConfig c;
  c.warps_m = j.at("warps_m");
  c.warps_n = j.at("warps_n");
  c.mma_tiles_m = j.at("mma_tiles_m");
  c.mma_tiles_n = j.at("mma_tiles_n");
  c.bk = j.at("bk");
  c.stages = j.at("stages");
  c.passes = j.at("passes");
  c.vec_b = j.at("vec_b");
  return c;
}

std::int64_t conv_mma_block_count(const MainOp& main, const ConvMmaConfig& c) {
  const ConvGemm gemm = conv_gemm(main);
  return ceil_div(gemm.m, c.block_m()) * ceil_div(gemm.n, c.block_n()) * gemm.groups;
}

LaunchGeometry conv_mma_launch(const MainOp& main, const ConvMmaConfig& c) {
  LaunchGeometry launch;
  launch.grid = {static_cast<unsigned>(conv_mma_block_count(main, c)), 1, 1};
  launch.block = {static_cast<unsigned>(c.threads()), 1, 1};
  launch.dynamic_smem_bytes = static_cast<unsigned>(c.smem_bytes());
  return launch;
}

}  // namespace fusetune
