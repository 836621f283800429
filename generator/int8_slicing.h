// The slicing pass of GEMMs emulated on int8 tensor cores: a kernel that splits the rows of an
// fp32 operand into int8 digit planes and each row's exponent, and measures what the scheme is
// chosen from (templates/int8_slices.cuh; the arithmetic and its host model:
// generator/int8_slices.h).
#pragma once

#include <cstdint>
#include <string>

#include "generator/kernel_source.h"

namespace fusetune {

// Where the slicing kernel of `rows` rows of `length` values into `slices` digits writes, in
// bytes from its workspace's start.
struct SlicingLayout {
  std::int64_t rows = 0, length = 0;
  int slices = 0;
  std::int64_t pitch = 0;        // bytes between digit rows: length rounded up to 16
  std::uint64_t digits = 0;      // int8 [slices][rows][pitch]
  std::uint64_t exponents = 0;   // int32 [rows]
  std::uint64_t statistics = 0;  // fp64 [rows][kSliceRowStatistics], where measured
  std::uint64_t bytes = 0;       // the whole workspace
};

// A row's statistics (templates/int8_slices.cuh): its squares, each digit's and each
// remainder's up to kMaxSlices (generator/int8_slices.h), and its count of non-finite values.
inline constexpr int kSliceRowStatistics = 16;

SlicingLayout slicing_layout(std::int64_t rows, std::int64_t length, int slices);

// What a slicing pass measures of each row (templates/int8_slices.cuh's kMeasure*): nothing;
// the statistics for every digit count (the host model's, generator/int8_slices.h); or those of
// the digits it writes alone (what int8x's guard reads, at a fraction of the cost).
enum class SliceMeasure { nothing = 0, every_count = 1, own_digits = 2 };

// How the operand lies in memory: by rows ([rows, length], each row's values contiguous: x
// [M, K], a linear layer's weight [N, K]), or the other way ([length, rows]: a matmul's B
// [K, N], A [K, M] under transpose_a), sliced as its transposed copy would be.
enum class OperandStorage { rows, columns };

// A slicing kernel as a step of a plan: its entry, which slices LaunchArgs::tensors[tensor] into
// the plan's workspace from byte `base` on (slicing_layout's offsets after it), and its code:
// a shape struct and the entry, for a module that already holds common.cuh and int8_slices.cuh.
struct SlicingPass {
  KernelStep step;
  std::string code;
};
SlicingPass slicing_pass(const std::string& entry, int tensor, std::int64_t rows,
                         std::int64_t length, int slices, SliceMeasure measure, std::uint64_t base,
                         OperandStorage storage = OperandStorage::rows);

// The kernel on its own: LaunchArgs::tensors[0] the operand (rows x length fp32, stored as
// `storage` says), its workspace parameter laid out as slicing_layout() says; one block per row
// (32 rows a block stored by columns). `measure`: the statistics too. Throws
// Error(invalid_argument) for a slice count outside 1..kMaxSlices or an empty operand.
KernelSource emit_int8_slicing(std::int64_t rows, std::int64_t length, int slices, bool measure,
                               OperandStorage storage = OperandStorage::rows);

}  // namespace fusetune
