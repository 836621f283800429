// One configuration of the direct-convolution template (templates/conv_simt.cuh): its
// tunables, and the cells that cover a spec's output (pooling windows, output phases or single
// elements), which the spec decides.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

struct ConvSimtConfig {
  int co_block = 32;                     // output channels per block, within one group
  int co_thread = 8;                     // output channels per thread, a multiple of 4
  std::array<int, 3> threads{1, 4, 32};  // threads of one channel group along d, h, w
  std::array<int, 3> cells{1, 1, 2};     // cells per thread along d, h, w
  int ci_chunk = 16;                     // input channels whose weights are staged at a time

  int spatial_threads() const { return threads[0] * threads[1] * threads[2]; }
  int block_threads() const { return spatial_threads() * (co_block / co_thread); }
  int cells_per_thread() const { return cells[0] * cells[1] * cells[2]; }

  friend bool operator==(const ConvSimtConfig&, const ConvSimtConfig&) = default;
};

// How cells cover the convolution's output along one axis (d, h or w): cell c spans outputs
// c * stride - offset + [0, extent), and there are `count` of them.
struct CellAxis {
  int extent = 1;
  int stride = 1;
  int offset = 0;
  std::int64_t count = 1;
};

// The cells of a spec: its pooling windows; without a pool step, a transposed convolution's
// stride-sized blocks of output phases, or single elements. Per axis d, h, w.
std::array<CellAxis, 3> conv_cells(const Spec& spec);

// The procedural name, also the kernel symbol:
//   ft_conv_simt_co<CO_BLOCK>x<CO_THREAD>_t<D>x<H>x<W>_c<D>x<H>x<W>_ci<CI_CHUNK>
// e.g. ft_conv_simt_co32x8_t1x4x32_c1x1x2_ci16
std::string config_name(const MainOp& main, const ConvSimtConfig& config);
// Reads a name back; nullopt (and `why`) when it is not a conv_simt name.
std::optional<ConvSimtConfig> parse_conv_simt_name(std::string_view name,
                                                   std::string* why = nullptr);

nlohmann::json to_json(const ConvSimtConfig& config);
ConvSimtConfig conv_simt_from_json(const nlohmann::json& json);

// Weights staged per block: [ci_chunk][taps][co_block] floats.
int conv_simt_smem_bytes(const MainOp& main, const ConvSimtConfig& config);
std::int64_t conv_simt_block_count(const Spec& spec, const ConvSimtConfig& config);
// Global average pooling's workspace (templates/split_k.cuh), 0 for every other spec.
std::uint64_t conv_simt_workspace_bytes(const Spec& spec, const ConvSimtConfig& config);
LaunchGeometry conv_simt_launch(const Spec& spec, const ConvSimtConfig& config);

}  // namespace fusetune
