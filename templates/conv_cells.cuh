// fusetune template: what the convolution families share of the cells that cover an output
// (generator/conv_cells.h): the pool kinds a cell folds its elements with, and an average
// window's divisor.
#pragma once

namespace ft {

constexpr int kPoolNone = 0;  // every element is stored
constexpr int kPoolMax = 1;
constexpr int kPoolAvg = 2;  // PyTorch's count_include_pad=True divisor
constexpr int kPoolGlobalAvg = 3;  // the mean over every position: blocks add up through split_k.cuh

// The cell's elements that fall inside the padded extent count in an average (count_include_pad).
template <class A>
__device__ __forceinline__ int cell_divisor(int c) {
  const int start = c * A::CELL_STRIDE - A::CELL_OFFSET;
  const int end = min(start + A::CELL, A::OUT + A::CELL_OFFSET);
  return end - start;
}

}  // namespace ft
