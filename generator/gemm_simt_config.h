// One configuration of the SIMT GEMM template (templates/gemm_simt.cuh): the values of its
// tunables. The problem shape and the edge guards come from the spec.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "generator/kernel_source.h"
#include "generator/spec.h"
#include "generator/tile_grid.h"

namespace fusetune {

struct GemmSimtConfig {
  int warps_m = 2;  // warps per block along M
  int warps_n = 2;  // warps per block along N
  int lanes_m = 4;  // lane grid of a warp: lanes_m x lanes_n == 32
  int lanes_n = 8;
  int rep_m = 4;  // 4x4 fragments per thread along M: thread tile rows = 4 * rep_m
  int rep_n = 2;
  int bk = 16;                  // k-depth of a shared-memory stage
  int stages = 3;               // cp.async pipeline depth
  bool lane_n_fastest = false;  // consecutive lanes step along N (else along M)
  bool spread_fill = true;      // issue a tile's copies over several k-steps
  int min_blocks = 1;           // __launch_bounds__ blocks-per-SM hint (caps registers)
  int vec_a = 1;  // floats per copy of A when A is m-contiguous (1, 2, 4); 1 when k-contiguous
  int vec_b = 1;  // likewise for B
  // Split-K: each tile's k-tiles in this many ranges, one block each (grid.y), added through a
  // global workspace (templates/split_k.cuh). For shapes with too few tiles to fill the GPU.
  int splits = 1;

  int threads() const { return 32 * warps_m * warps_n; }
  int thread_tile_m() const { return 4 * rep_m; }
  int thread_tile_n() const { return 4 * rep_n; }
  int block_m() const { return warps_m * lanes_m * thread_tile_m(); }
  int block_n() const { return warps_n * lanes_n * thread_tile_n(); }
  // Dynamic shared memory: STAGES x ([BK, BM + 4] + [BK, BN + 4]) floats, and split-K's flag.
  int smem_bytes() const {
    return stages * bk * (block_m() + 4 + block_n() + 4) * 4 + (splits > 1 ? 16 : 0);
  }

  friend bool operator==(const GemmSimtConfig&, const GemmSimtConfig&) = default;
};

EdgeGuards edge_guards(const MainOp& main, const GemmSimtConfig& config);

// The procedural name, also the kernel symbol:
//   ft_gemm_simt_<BM>x<BN>x<BK>_w<WM>x<WN>_t<TM>x<TN>_s<STAGES>_<n|m>[_spread][_occ<B>]
//   [_va<V>][_vb<V>][_k<SPLITS>][_g<m|n|k...>]
// e.g. ft_gemm_simt_128x128x16_w2x2_t16x8_s3_m_spread
std::string config_name(const MainOp& main, const GemmSimtConfig& config);
// Reads a name back; nullopt when it is not a gemm_simt name, or when its sizes describe no
// configuration (then `why`, if given, says what does not fit). Guard letters are ignored.
std::optional<GemmSimtConfig> parse_gemm_simt_name(std::string_view name,
                                                   std::string* why = nullptr);

nlohmann::json to_json(const GemmSimtConfig& config);
GemmSimtConfig gemm_simt_from_json(const nlohmann::json& json);

// Output tiles, one block each (per split).
std::int64_t block_count(const MainOp& main, const GemmSimtConfig& config);
// The k-tiles (bk deep) of the whole K, and of each split but the last.
std::int64_t k_tile_count(const MainOp& main, const GemmSimtConfig& config);
std::int64_t k_tiles_per_split(const MainOp& main, const GemmSimtConfig& config);
LaunchGeometry launch_geometry(const MainOp& main, const GemmSimtConfig& config);

}  // namespace fusetune
