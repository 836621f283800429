// The direct-convolution family (templates/conv_simt.cuh), FFMA for fp32, pooling in its
// epilogue: one configuration's tunables, the cells that cover a spec's output (pooling windows,
// output phases or single elements), which the spec decides, and the family's search space.
// conv_simt.cc holds the family unit, conv_simt_space.cc its rules.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "generator/conv_cells.h"
#include "generator/device_limits.h"
#include "generator/kernel_family.h"
#include "generator/kernel_source.h"
#include "generator/precision.h"
#include "generator/spec.h"

namespace fusetune {

struct ConvSimtConfig {
  int co_block = 32;                     // output channels per block, within one group
  int co_thread = 8;                     // output channels per thread, a multiple of 4
  std::array<int, 3> threads{1, 4, 32};  // threads of one channel group along d, h, w
  std::array<int, 3> cells{1, 1, 2};     // cells per thread along d, h, w
  int ci_chunk = 16;                     // input channels whose weights are staged at a time

  Precision precision() const { return Precision::fp32; }
  int spatial_threads() const { return threads[0] * threads[1] * threads[2]; }
  int block_threads() const { return spatial_threads() * (co_block / co_thread); }
  int cells_per_thread() const { return cells[0] * cells[1] * cells[2]; }

  friend bool operator==(const ConvSimtConfig&, const ConvSimtConfig&) = default;
};

// The family: its tunables table gives the procedural name
//   ft_conv_simt_co<CO_BLOCK>x<CO_THREAD>_t<D>x<H>x<W>_c<D>x<H>x<W>_ci<CI_CHUNK>
// e.g. ft_conv_simt_co32x8_t1x4x32_c1x1x2_ci16, its parser, its JSON and the tunables of the
// emitted Config.
const KernelFamily<ConvSimtConfig>& family_of(const ConvSimtConfig&);

// Weights staged per block: [ci_chunk][taps][co_block] floats.
int conv_simt_smem_bytes(const MainOp& main, const ConvSimtConfig& config);
std::int64_t conv_simt_block_count(const Spec& spec, const ConvSimtConfig& config);
// Global average pooling's workspace (templates/split_k.cuh), 0 for every other spec.
std::uint64_t conv_simt_workspace_bytes(const Spec& spec, const ConvSimtConfig& config);
LaunchGeometry conv_simt_launch(const Spec& spec, const ConvSimtConfig& config);

// ---- the search (conv_simt_space.cc) ----

// Why `config` cannot run (or would waste most of its threads) for `spec` on `limits`; nullopt
// if it can.
std::optional<std::string> conv_simt_rejection(const Spec& spec, const DeviceLimits& limits,
                                               const ConvSimtConfig& config);

// The best predicted configurations that pass the constraints (at most kConvSimtSpaceSize),
// best first. Empty for specs that are not convolutions.
std::vector<ConvSimtConfig> conv_simt_space(const Spec& spec, const DeviceLimits& limits);
inline constexpr std::size_t kConvSimtSpaceSize = 96;

// A relative time from a model of FFMA and load issue, occupancy and waves.
double conv_simt_predicted_cost(const Spec& spec, const DeviceLimits& limits,
                                const ConvSimtConfig& config);

// The configuration for a spec never tuned; throws Error(invalid_argument) with the reason
// when no configuration can run it.
ConvSimtConfig conv_simt_default(const Spec& spec, const DeviceLimits& limits);

}  // namespace fusetune
