// One configuration of the implicit-GEMM tensor-core convolution template
// (templates/conv_mma.cuh), and the GEMM a convolution is to it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "generator/kernel_source.h"
#include "generator/precision.h"
#include "generator/spec.h"
#include "generator/tile_grid.h"

namespace fusetune {

struct ConvMmaConfig {
  int warps_m = 2;      // warps per block along M (output positions)
  int warps_n = 4;      // warps per block along N (output channels of a group)
  int mma_tiles_m = 4;  // 16x8 MMA tiles per warp along M (16 positions each)
  int mma_tiles_n = 4;  // and along N (8 channels each)
  int bk = 16;          // k-depth of a stage: a multiple of 8
  int stages = 3;       // cp.async pipeline depth
  int passes = 1;       // 1 TF32, 3 3xTF32
  int vec_b = 4;        // floats per copy of the weight: the widest that divides C/groups·taps

  int threads() const { return 32 * warps_m * warps_n; }
  int block_m() const { return warps_m * 16 * mma_tiles_m; }
  int block_n() const { return warps_n * 8 * mma_tiles_n; }
  Precision precision() const { return tensor_core_precision(DataType::fp32, passes); }
  // STAGES stages of A [BK, BM + 8] and B [BN, BK + 4] floats.
  int smem_bytes() const;
  // How the template's threads copy A (ConvMmaShape): A_ROWS positions by a_columns() k-columns
  // each; 0 columns where a stage's copies do not split evenly over the threads.
  int a_rows() const { return std::min(4, block_m() / 32); }
  int a_columns() const;

  friend bool operator==(const ConvMmaConfig&, const ConvMmaConfig&) = default;
};

// A (plain) convolution as the template's GEMM, per group: M = N·D'·H'·W' output positions,
// N = K/groups channels, K = C/groups·taps.
struct ConvGemm {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  int groups = 1;
};
ConvGemm conv_gemm(const MainOp& main);

EdgeGuards edge_guards(const ConvGemm& gemm, const ConvMmaConfig& config);

// ft_conv_mma_<BM>x<BN>x<BK>_w<WM>x<WN>_s<STAGES>_<tf32|3xtf32>_vb<V>[_g<m|n|k...>]
// e.g. ft_conv_mma_128x128x16_w2x4_s3_tf32_vb4_gm
std::string config_name(const MainOp& main, const ConvMmaConfig& config);
// Reads a name back; nullopt (and `why`) when it does not describe one. Guard letters are
// ignored (the spec decides them).
std::optional<ConvMmaConfig> parse_conv_mma_name(std::string_view name, std::string* why = nullptr);

nlohmann::json to_json(const ConvMmaConfig& config);
ConvMmaConfig conv_mma_from_json(const nlohmann::json& json);

// Blocks: one per BM x BN tile of each group's GEMM.
std::int64_t conv_mma_block_count(const MainOp& main, const ConvMmaConfig& config);
LaunchGeometry conv_mma_launch(const MainOp& main, const ConvMmaConfig& config);

}  // namespace fusetune
