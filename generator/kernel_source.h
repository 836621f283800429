// What the generator hands to the compiler and the launcher.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "generator/data_type.h"

namespace fusetune {

// A TMA descriptor a kernel takes after its LaunchArgs: the row-major matrix
// LaunchArgs::tensors[tensor] (LaunchArgs::out for kOutput) of `rows` x `cols`, copied in boxes
// of box_rows x box_cols with the `swizzle_bytes` swizzle. The launcher encodes it for the
// pointers of each launch.
struct TensorMapSpec {
  static constexpr int kOutput = -1;
  int tensor = 0;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  int box_rows = 0;
  int box_cols = 0;
  DataType dtype = DataType::fp32;
  // fp32 only: the copy engine rounds each value to the nearest TF32 as it lands in shared
  // memory (a TF32 tensor map), for tensor cores that would otherwise truncate it.
  bool round_to_tf32 = false;
  // The tensor holds int8 digit planes (generator/int8_slicing.h), one byte per element,
  // whatever `dtype` says.
  bool int8_digits = false;
  // Where set, the matrix lies in the plan's workspace from this byte offset (what a preparing
  // step wrote there), not in `tensor`.
  std::optional<std::uint64_t> workspace_offset = std::nullopt;
  // The swizzle of the box in shared memory, 128 or 64 bytes: the span of a box row at most
  // (what the kernel's wgmma descriptors say).
  int swizzle_bytes = 128;

  friend bool operator==(const TensorMapSpec&, const TensorMapSpec&) = default;
};

// How the grid of a bucket's kernel (a spec with m=lo..hi, whose rows are LaunchArgs::rows)
// follows the rows of each launch: grid[0] = ceil(rows / tile_rows) * tile_row_blocks, the
// other dims as written (launch_at_rows, generator/tile_grid.h).
struct RowGrid {
  int tile_rows = 0;                 // rows per block along grid x; 0: the grid is fixed
  std::int64_t tile_row_blocks = 0;  // blocks per row of tiles: the tiles across N
  std::int64_t max_rows = 0;         // the bucket's top, for which workspaces are sized

  friend bool operator==(const RowGrid&, const RowGrid&) = default;
};

struct LaunchGeometry {
  // As written for the spec's rows (a bucket's top); a bucket's kernel launches with `rows`.
  std::array<unsigned, 3> grid{1, 1, 1};
  std::array<unsigned, 3> block{1, 1, 1};
  unsigned dynamic_smem_bytes = 0;
  std::vector<TensorMapSpec> tensor_maps;  // kernel parameters 2, 3, ... in this order
  // Global scratch memory the kernel takes after its tensor maps (`float* workspace`), zeroed
  // when the launcher allocates it. What a kernel needs zero at its start (split-K's sums and
  // counters) it leaves zero at its end. 0: no such parameter.
  std::uint64_t workspace_bytes = 0;
  // Blocks per thread-block cluster along x (the kernel's __cluster_dims__). Such kernels are
  // persistent, taking work by gridDim: the launcher trims the grid to the clusters that fit
  // the GPU at once, which can be fewer than its SMs allow blocks.
  unsigned cluster = 1;
  RowGrid rows = {};

  friend bool operator==(const LaunchGeometry&, const LaunchGeometry&) = default;
};

// One more launch of a plan: an entry of the same module, run before or after the main kernel.
struct KernelStep {
  std::string entry;
  LaunchGeometry launch;
  // A preparing step whose result depends on LaunchArgs::tensors[t] alone (int8x's digits of a
  // weight): a launch whose caller says that tensor is unchanged since the stream's last launch
  // at the same address may skip it (runtime/loaded_kernel.h). Not carried to the tuner's worker,
  // which runs every step.
  std::optional<int> prepares_tensor = std::nullopt;

  friend bool operator==(const KernelStep&, const KernelStep&) = default;
};

// The kernels of a plan (generator/plan.h) that run before and after its main kernel. Every
// kernel of a plan shares one workspace, as large as the largest workspace_bytes asks.
struct FinishingPlan {
  std::vector<KernelStep> steps;  // in launch order; empty where one kernel computes the spec
  // Run before the main kernel, in order: what it reads prepared in the workspace (an operand's
  // int8 digits).
  std::vector<KernelStep> preparing = {};
  // Where the main kernel writes: bytes into the workspace; nullopt: LaunchArgs::out.
  std::optional<std::uint64_t> main_output_offset;
  // Where a guard leaves its verdict (an int in the workspace, nonzero where the launch's data
  // sent the product to its fp32 path), which the launcher reads back and says once.
  std::optional<std::uint64_t> verdict_offset = std::nullopt;

  friend bool operator==(const FinishingPlan&, const FinishingPlan&) = default;
};

struct KernelSource {
  std::string name;  // procedural config name, also the kernel's entry symbol
  std::string code;  // complete, self-contained CUDA C++ (compiles with nvcc or NVRTC)
  LaunchGeometry launch;
  FinishingPlan finishing = {};
  // Uses features of one arch only (wgmma, setmaxnreg): compiled for "sm_90a", not "sm_90".
  bool arch_specific = false;
};

// The NVRTC target of `source` on a device of `arch` ("sm_90" -> "sm_90a" where it must be).
inline std::string target_arch(const KernelSource& source, const std::string& arch) {
  return source.arch_specific ? arch + "a" : arch;
}

}  // namespace fusetune
