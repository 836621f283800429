// One configuration of the Hopper warpgroup-MMA GEMM template (templates/gemm_wgmma.cuh).
#pragma once

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

struct GemmWgmmaConfig {
  int block_m = 128;  // rows of a block tile: consumers x a multiple of 64
  int block_n = 128;  // columns: the wgmma N, a multiple of 8 up to 256
  int stages = 4;     // TMA ring depth
  int consumers = 2;  // consumer warpgroups (one producer warpgroup besides)
  // fp32 data: 1 TF32 (the TMA rounds both operands to nearest as it loads them), 3 3xTF32;
  // 16-bit data: 1.
  int passes = 3;
  DataType dtype = DataType::fp32;  // the operands' type: bf16 and fp16 multiply as they are
  // Split-K: each tile's k-tiles in this many ranges, run as separate units of work and added
  // through a global workspace. For shapes with fewer tiles than SMs.
  int splits = 1;
  // Blocks per thread-block cluster: 2 pairs blocks on vertically adjacent tiles, which share
  // B's k-tiles through TMA multicast (each loads half), halving B's L2 reads.
  int cluster = 1;
  // The consumers stage the finished tile in shared memory and the TMA stores it while they go
  // on to the next; else they store from registers. Output in the inputs' type, no split-K.
  bool tma_store = false;
  int blocks = 132;  // persistent blocks: min(tiles x splits, SMs)

  static constexpr int kRowBytes = 128;  // a k-tile row: one 128-byte swizzled row per stage

  // k-tile depth in elements: 32 floats or 64 16-bit values.
  static int block_k(DataType type) { return kRowBytes / element_bytes(type); }
  int threads() const { return 128 * (consumers + 1); }
  Precision precision() const { return tensor_core_precision(dtype, passes); }
  int smem_bytes() const;

  friend bool operator==(const GemmWgmmaConfig&, const GemmWgmmaConfig&) = default;
};

EdgeGuards edge_guards(const MainOp& main, const GemmWgmmaConfig& config);

// ft_gemm_wgmma_<BM>x<BN>_c<CONSUMERS>_s<STAGES>_<tf32|3xtf32|bf16|fp16>[_k<SPLITS>][_x<CLUSTER>]
// [_ts]_p<BLOCKS> (_ts: tma_store)
// [_g<m|n|k...>]
std::string config_name(const MainOp& main, const GemmWgmmaConfig& config);
// Reads a name back; nullopt with `why` when it does not describe one. Guard letters are
// ignored.
std::optional<GemmWgmmaConfig> parse_gemm_wgmma_name(std::string_view name,
                                                     std::string* why = nullptr);

nlohmann::json to_json(const GemmWgmmaConfig& config);
GemmWgmmaConfig gemm_wgmma_from_json(const nlohmann::json& json);

std::int64_t tile_count(const MainOp& main, const GemmWgmmaConfig& config);
// The k-tiles (block_k(main.dtype) deep) of the whole K, and of each split but the last.
std::int64_t k_tile_count(const MainOp& main);
std::int64_t k_tiles_per_split(const MainOp& main, const GemmWgmmaConfig& config);
LaunchGeometry launch_geometry(const MainOp& main, const GemmWgmmaConfig& config);

}  // namespace fusetune
