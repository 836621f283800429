#include "generator/gemm_wgmma_config.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <regex>

namespace fusetune {

int GemmWgmmaConfig::smem_bytes() const {
  // Per stage: A and B tiles, and at 3xTF32 B's remainder; three mbarriers per stage; split-K's
  // flags; and the slack that lets the kernel align its base to 1024 bytes.
  const int a_stage = block_m * kRowBytes;
  const int b_stage = block_n * kRowBytes;
  const int small_b = passes == 3 ? b_stage : 0;
  const int split_flags = splits > 1 ? 8 : 0;
  const int out_staging = tma_store ? block_m * block_n * element_bytes(dtype) : 0;
  return stages * (a_stage + b_stage + small_b) + out_staging + 24 * stages + split_flags + 1024;
}

EdgeGuards edge_guards(const MainOp& main, const GemmWgmmaConfig& c) {
  return edge_guards(main, c.block_m, c.block_n, GemmWgmmaConfig::block_k(main.dtype));
}

std::string config_name(const MainOp& main, const GemmWgmmaConfig& c) {
  return fmt::format("ft_gemm_wgmma_{}x{}_c{}_s{}_{}{}{}{}_p{}{}", c.block_m, c.block_n,
                     c.consumers, c.stages, to_string(c.precision()),
                     c.splits > 1 ? fmt::format("_k{}", c.splits) : "",
                     c.cluster > 1 ? fmt::format("_x{}", c.cluster) : "", c.tma_store ? "_ts" : "",
                     c.blocks, guard_suffix(edge_guards(main, c)));
}

std::optional<GemmWgmmaConfig> parse_gemm_wgmma_name(std::string_view name, std::string* why) {
  static const std::regex pattern(
      R"(ft_gemm_wgmma_(\d{1,4})x(\d{1,4})_c(\d)_s(\d{1,2})_(tf32|3xtf32|bf16|fp16))"
      R"((?:_k(\d{1,3}))?(?:_x(\d))?(_ts)?_p(\d{1,4})(?:_g[mnk]+)?)");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(name.begin(), name.end(), match, pattern)) {
    if (why)
      *why =
          "it is not of the form "
          "ft_gemm_wgmma_<BM>x<BN>_c<C>_s<S>_<precision>[_k<SPLITS>][_x<CLUSTER>][_ts]_p<P>";
    return std::nullopt;
  }
  auto number = [&](int group) { return std::stoi(match[group].str()); };
  GemmWgmmaConfig c;
  c.block_m = number(1);
  c.block_n = number(2);
  c.consumers = number(3);
  c.stages = number(4);
  c.passes = match[5].str() == "3xtf32" ? 3 : 1;
  c.dtype = input_type(*precision_from_string(match[5].str()));
  c.splits = match[6].matched ? number(6) : 1;
  c.cluster = match[7].matched ? number(7) : 1;
  c.tma_store = match[8].matched;
  c.blocks = number(9);
  return c;
}

nlohmann::json to_json(const GemmWgmmaConfig& c) {
  return {{"family", "gemm_wgmma"}, {"block_m", c.block_m},       {"block_n", c.block_n},
          {"stages", c.stages},     {"consumers", c.consumers},   {"passes", c.passes},
          {"splits", c.splits},     {"cluster", c.cluster},       {"tma_store", c.tma_store},
          {"blocks", c.blocks},     {"dtype", to_string(c.dtype)}};
}

GemmWgmmaConfig gemm_wgmma_from_json(const nlohmann::json& j) {
  GemmWgmmaConfig c;
  c.block_m = j.at("block_m");
  c.block_n = j.at("block_n");
  c.stages = j.at("stages");
  c.consumers = j.at("consumers");
  c.passes = j.at("passes");
  // Results stored before the TMA rounded TF32 operands also hold "round_a" and "round_b"
  // (rounding in the kernel): read as today's kernel, which rounds both.
  c.splits = j.value("splits", 1);            // absent in results stored before split-K
  c.cluster = j.value("cluster", 1);          // absent in results stored before clusters
  c.tma_store = j.value("tma_store", false);  // absent in results stored before TMA stores
  c.blocks = j.at("blocks");
  // Absent in results stored before 16-bit inputs.
  c.dtype = parse_data_type(j.value("dtype", "fp32"));
  return c;
}

std::int64_t tile_count(const MainOp& main, const GemmWgmmaConfig& c) {
  return tile_count(main, c.block_m, c.block_n);
}

std::int64_t k_tile_count(const MainOp& main) {
  const int block_k = GemmWgmmaConfig::block_k(main.dtype);
  return (main.k + block_k - 1) / block_k;
}

std::int64_t k_tiles_per_split(const MainOp& main, const GemmWgmmaConfig& c) {
  return k_tiles_per_split(k_tile_count(main), c.splits);
}

LaunchGeometry launch_geometry(const MainOp& main, const GemmWgmmaConfig& c) {
  LaunchGeometry g;
  g.grid = {static_cast<unsigned>(c.blocks), 1, 1};
  g.block = {static_cast<unsigned>(c.threads()), 1, 1};
  g.dynamic_smem_bytes = static_cast<unsigned>(c.smem_bytes());
  g.cluster = static_cast<unsigned>(c.cluster);
  // A [M, K] and B [N, K], both K-contiguous (the template's requirement); each block of a
  // cluster loads its share of B's rows.
  const int block_k = GemmWgmmaConfig::block_k(main.dtype);
  const bool round_to_tf32 = main.dtype == DataType::fp32 && c.passes == 1;
  g.tensor_maps = {{0, main.m, main.k, c.block_m, block_k, main.dtype, round_to_tf32},
                   {1, main.n, main.k, c.block_n / c.cluster, block_k, main.dtype, round_to_tf32}};
  // The output, in strips 128 bytes wide of each consumer's rows (gemm_wgmma.cuh's staging).
  if (c.tma_store)
    g.tensor_maps.push_back({TensorMapSpec::kOutput, main.m, main.n, c.block_m / c.consumers,
                             GemmWgmmaConfig::kRowBytes / element_bytes(main.dtype), main.dtype});
  // Each consumer warpgroup counts its splits in on its own.
  g.workspace_bytes =
      split_k_workspace_bytes(tile_count(main, c), c.splits, c.block_m, c.block_n, c.consumers);
  return g;
}

}  // namespace fusetune
