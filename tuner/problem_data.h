// A spec's problem on the GPU: its input tensors filled with fresh random numbers (in the spec's
// dtype; 16-bit inputs also keep an exact fp32 copy for the reference), an output buffer in the
// output's dtype, and the output's fp64 reference. The reference shares no code with the templates:
// the main op (a GEMM or a convolution) runs in fp64 in tuner/reference_kernels.cu, the epilogue
// and the pool step in fp64 on the host (tuner/reference_epilogue.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <future>
#include <vector>

#include "generator/spec.h"
#include "runtime/launch_args.h"
#include "tuner/device_buffer.h"
#include "tuner/input_distribution.h"
#include "tuner/reference_epilogue.h"

namespace fusetune {

struct Verification {
  double rel_err = 0;           // ‖out − ref‖ / ‖ref‖ (Frobenius), over finite outputs
  std::int64_t non_finite = 0;  // NaN or infinite outputs (poisoned ones never written count)

  bool passed(double tolerance) const { return non_finite == 0 && rel_err <= tolerance; }
};

class ProblemData {
 public:
  // Allocates every tensor, fills the inputs from `seed` as `inputs` says and computes the
  // reference. The main op's second operand (the weight) is scaled as PyTorch initialises a
  // layer's: by 1/sqrt(fan_in). Throws Error(cuda_error) when memory runs out or a
  // reference kernel fails, Error(invalid_argument) for a GEMM of more than 65535·16 rows.
  // With `host_part_later`, the reference's host half (the epilogue and pool steps, most of a
  // second for the conv seed's 67M values) runs on a background thread, touching no GPU state,
  // until finish_reference(); verify() waits for it.
  ProblemData(const Spec& spec, std::uint64_t seed, cudaStream_t stream,
              bool host_part_later = false, InputDistribution inputs = InputDistribution::uniform);
  ~ProblemData();
  ProblemData(const ProblemData&) = delete;
  ProblemData& operator=(const ProblemData&) = delete;

  // New random inputs (and their reference) from another seed.
  void refill(std::uint64_t seed);

  // Waits for a reference whose host half runs in the background and uploads it; at once when
  // none does. Throws what the host half threw.
  void finish_reference();

  // The kernel argument for this problem, with the spec's scalar values.
  const LaunchArgs& launch_args() const { return args_; }
  void* output() const { return output_.as<void>(); }  // of element type output_dtype()
  DataType output_dtype() const { return spec_.main.output_dtype(); }
  std::int64_t output_count() const { return output_count_; }

  // Fills the output with NaN, so that an element a kernel fails to write cannot pass, and puts
  // back the values of the inputs a kernel updates (batch_norm's running statistics), so that
  // the next launch starts from what the reference did.
  void poison_output();
  // Compares the output (or `candidate`, another output of output_dtype() and output_shape())
  // with the reference, and each updated input with what the reference left in it; the larger
  // relative error counts. Synchronizes the stream.
  Verification verify() { return verify(output()); }
  Verification verify(const void* candidate);

  // For tests: the reference, output_count() values in output_shape()'s row-major order, and
  // input `i` (Spec::tensors() order) as the fp32 values the reference reads. Both synchronize
  // the stream.
  std::vector<double> reference_values() const;
  std::vector<float> input_values(std::size_t i) const;

 private:
  // Fills the inputs from `seed` and computes the main op's reference on the GPU; the host half
  // runs now, or in the background with `host_part_later`.
  void draw(std::uint64_t seed, bool host_part_later);
  void begin_reference(bool host_part_later);
  // Input i as fp32: the tensor itself, or for 16-bit data its exact fp32 copy.
  const DeviceBuffer& values(std::size_t i) const;
  // The relative error of `count` values of `type` against `reference` (fp64, on the device).
  Verification compare(const void* values, DataType type, const double* reference,
                       std::int64_t count);

  Spec spec_;
  cudaStream_t stream_;
  InputDistribution inputs_distribution_;
  std::vector<DeviceBuffer> inputs_;  // Spec::tensors() order, in the spec's dtype
  std::vector<DeviceBuffer> wide_;    // 16-bit inputs only: their values in fp32
  DeviceBuffer output_;
  DeviceBuffer reference_;  // double, output_shape()
  DeviceBuffer sums_;       // ComparisonSums
  std::int64_t output_count_ = 0;
  // The inputs a kernel updates, by Spec::tensors() index: their drawn values, to put back before
  // each launch, and their fp64 reference after one.
  struct Updated {
    std::size_t tensor = 0;
    DeviceBuffer drawn;
    DeviceBuffer reference;
  };
  std::vector<Updated> updated_;
  LaunchArgs args_;
  std::future<ChainReference> host_reference_;  // the host half, while it runs
};

}  // namespace fusetune
