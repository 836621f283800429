// How the direct and implicit-GEMM convolution families cover a convolution's output: with
// *cells*, each a pooling window, a block of a transposed convolution's output phases, or one
// element, and which taps each element of a cell meets (templates/conv_cells.cuh computes the
// same on the device).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "generator/spec.h"

namespace fusetune {

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

// The taps element `e` of a cell (0 <= e < extent) meets along axis `a`: all of the kernel for a
// plain convolution; for a transposed one, those of the element's output phase, which needs
// cells that start on one phase (a cell stride that the convolution's stride divides).
int element_taps(const MainOp& main, const CellAxis& cells, int a, int e);

// Whether a transposed convolution's cells start on one phase along every axis.
bool cells_keep_phase(const MainOp& main, const std::array<CellAxis, 3>& cells);

// The lines of a convolution kernel's `struct Config` that give its shape: N, C, K, GROUPS,
// TRANSPOSED, POOL (templates/conv_cells.cuh's kinds) and per axis (struct D, H, W) the
// extents, the window and the cells.
std::string conv_config_head(const Spec& spec);

}  // namespace fusetune
