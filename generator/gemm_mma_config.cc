#include "generator/gemm_mma_config.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <regex>

namespace fusetune {

int GemmMmaConfig::smem_bytes(const MainOp& main) const {
  // Pitches as the template's GemmMmaShape: k-contiguous rows padded by 16 bytes, others by 8
  // elements.
  const int bytes = element_bytes(dtype);
  const int k_pad = 16 / bytes;
  const int a_stage = main.a_k_contiguous() ? block_m() * (bk + k_pad) : bk * (block_m() + 8);
  const int b_stage = main.b_k_contiguous() ? block_n() * (bk + k_pad) : bk * (block_n() + 8);
  return stages * (a_stage + b_stage) * bytes;
}

EdgeGuards edge_guards(const MainOp& main, const GemmMmaConfig& c) {
  return edge_guards(main, c.block_m(), c.block_n(), c.bk);
}

std::string config_name(const MainOp& main, const GemmMmaConfig& c) {
  std::string name =
      fmt::format("ft_gemm_mma_{}x{}x{}_w{}x{}_s{}_{}_va{}_vb{}", c.block_m(), c.block_n(), c.bk,
                  c.warps_m, c.warps_n, c.stages, to_string(c.precision()), c.vec_a, c.vec_b);
  return name + guard_suffix(edge_guards(main, c));
}

std::optional<GemmMmaConfig> parse_gemm_mma_name(std::string_view name, std::string* why) {
  // At most 4 digits per size, so that every size and product fits an int.
  static const std::regex pattern(
      R"(ft_gemm_mma_(\d{1,4})x(\d{1,4})x(\d{1,4})_w(\d{1,2})x(\d{1,2})_s(\d{1,2}))"
      R"(_(tf32|3xtf32|bf16|fp16)_va(\d)_vb(\d)(?:_g[mnk]+)?)");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(name.begin(), name.end(), match, pattern)) {
    if (why)
      *why = "it is not of the form ft_gemm_mma_<BM>x<BN>x<BK>_w<WM>x<WN>_s<S>_<precision>_...";
    return std::nullopt;
  }
  auto number = [&](int group) { return std::stoi(match[group].str()); };
  GemmMmaConfig c;
  const int block_m = number(1), block_n = number(2);
  c.bk = number(3);
  c.warps_m = number(4);
  c.warps_n = number(5);
  c.stages = number(6);
  c.passes = match[7].str() == "3xtf32" ? 3 : 1;
  c.dtype = input_type(*precision_from_string(match[7].str()));
  c.vec_a = number(8);
  c.vec_b = number(9);
  if (c.warps_m == 0 || c.warps_n == 0 || block_m % (16 * c.warps_m) || block_n % (8 * c.warps_n)) {
    if (why)
      *why = fmt::format("a {}x{} block tile does not split into {}x{} warps of 16x8 MMA tiles",
                         block_m, block_n, c.warps_m, c.warps_n);
    return std::nullopt;
  }
  c.mma_tiles_m = block_m / (16 * c.warps_m);
  c.mma_tiles_n = block_n / (8 * c.warps_n);
  return c;
}

nlohmann::json to_json(const GemmMmaConfig& c) {
  return {{"family", "gemm_mma"},
          {"warps_m", c.warps_m},
          {"warps_n", c.warps_n},
          {"mma_tiles_m", c.mma_tiles_m},
          {"mma_tiles_n", c.mma_tiles_n},
          {"bk", c.bk},
          {"stages", c.stages},
          {"passes", c.passes},
          {"vec_a", c.vec_a},
          {"vec_b", c.vec_b},
          {"dtype", to_string(c.dtype)}};
}

GemmMmaConfig gemm_mma_from_json(const nlohmann::json& j) {
  GemmMmaConfig c;
  c.warps_m = j.at("warps_m");
  c.warps_n = j.at("warps_n");
  c.mma_tiles_m = j.at("mma_tiles_m");
  c.mma_tiles_n = j.at("mma_tiles_n");
  c.bk = j.at("bk");
  c.stages = j.at("stages");
  c.passes = j.at("passes");
  c.vec_a = j.at("vec_a");
  c.vec_b = j.at("vec_b");
  // Absent in results stored before 16-bit inputs.
  c.dtype = parse_data_type(j.value("dtype", "fp32"));
  return c;
}

std::int64_t block_count(const MainOp& main, const GemmMmaConfig& c) {
  return tile_count(main, c.block_m(), c.block_n());
}

LaunchGeometry launch_geometry(const MainOp& main, const GemmMmaConfig& c) {
  return tile_grid(main, c.block_m(), c.block_n(), c.threads(), c.smem_bytes(main));
}

}  // namespace fusetune
