// One configuration of the tensor-core GEMM template (templates/gemm_mma.cuh).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "generator/gemm_simt_config.h"
#include "generator/kernel_source.h"
#include "generator/precision.h"
#include "generator/spec.h"

namespace fusetune {

struct GemmMmaConfig {
  int warps_m = 2;      // warps per block along M
  int warps_n = 2;      // warps per block along N
  int mma_tiles_m = 4;  // 16x8 MMA tiles per warp along M (16 rows each)
  int mma_tiles_n = 4;  // and along N (8 columns each)
  int bk = 16;          // k-depth of a stage: a multiple of the MMA's k (8 fp32, 16 16-bit)
  int stages = 3;       // cp.async pipeline depth
  int passes = 3;       // fp32 data: 1 TF32, 3 3xTF32; 16-bit data: 1
  int vec_a = 4;        // elements per copy of A: the widest its contiguous extent allows
  int vec_b = 4;
  DataType dtype = DataType::fp32;  // the operands' type: bf16 and fp16 multiply as they are

  int threads() const { return 32 * warps_m * warps_n; }
  int block_m() const { return warps_m * 16 * mma_tiles_m; }
  int block_n() const { return warps_n * 8 * mma_tiles_n; }
  Precision precision() const { return tensor_core_precision(dtype, passes); }
  // Dynamic shared memory of STAGES stages of A and B (see the template's pitches).
  int smem_bytes(const MainOp& main) const;

  friend bool operator==(const GemmMmaConfig&, const GemmMmaConfig&) = default;
};

EdgeGuards edge_guards(const MainOp& main, const GemmMmaConfig& config);

// ft_gemm_mma_<BM>x<BN>x<BK>_w<WM>x<WN>_s<STAGES>_<tf32|3xtf32|bf16|fp16>_va<V>_vb<V>
// [_g<m|n|k...>]
std::string config_name(const MainOp& main, const GemmMmaConfig& config);
// Reads a name back (the vectors and the operand type too: they are in every name); nullopt
// with `why` when it does not describe one. Guard letters are ignored.
std::optional<GemmMmaConfig> parse_gemm_mma_name(std::string_view name, std::string* why = nullptr);

nlohmann::json to_json(const GemmMmaConfig& config);
GemmMmaConfig gemm_mma_from_json(const nlohmann::json& json);

std::int64_t block_count(const MainOp& main, const GemmMmaConfig& config);
LaunchGeometry launch_geometry(const MainOp& main, const GemmMmaConfig& config);

}  // namespace fusetune
