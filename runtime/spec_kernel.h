// The public Kernel of include/fusetune/fusetune.h for one spec: what its launches take (tensors,
// scalars, output), checked on every launch, over the LoadedKernel that runs it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fusetune/fusetune.h"
#include "generator/spec.h"
#include "runtime/loaded_kernel.h"

namespace fusetune {

// What a kernel's launches take, as Kernel reports them.
struct KernelInterface {
  std::string spec;  // what Kernel::spec() says
  std::vector<TensorArg> tensors;
  std::vector<std::int64_t> output_shape;
  DataType output_dtype = DataType::fp32;
  std::vector<ScalarArg> scalars;
  int rows = 0;  // LaunchArgs::rows
};

// A spec's own: its tensors, output and scalars.
KernelInterface interface_of(const Spec& spec);

class SpecKernel final : public Kernel {
 public:
  // `config` is the configuration's procedural name.
  // `kernel` may be shared: a bucket's module serves every row count of its range.
  // `tuned`: the tuned winner's time, or nullopt for an untuned spec's kernel.
  SpecKernel(const Spec& spec, std::string config, std::optional<double> tuned,
             std::shared_ptr<const LoadedKernel> kernel);
  SpecKernel(const KernelInterface& interface, std::string config, std::optional<double> tuned,
             std::shared_ptr<const LoadedKernel> kernel);

  const std::string& spec() const override { return spec_; }
  const std::string& config() const override { return config_; }
  bool tuned() const override { return tuned_.has_value(); }
  double tuned_time_ms() const override { return tuned_.value_or(0.0); }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const std::vector<std::int64_t>& output_shape() const override { return output_shape_; }
  const std::string& output_dtype() const override { return output_dtype_; }
  const std::vector<std::string>& scalar_names() const override { return scalar_names_; }

  Status prepare(cudaStream_t stream) const override;
  Status launch(cudaStream_t stream, const Arguments& arguments) const override;

 private:
  // invalid_argument naming the operand at fault, or ok.
  Status check(const Arguments& arguments) const;
  // cuda_error for `error`, which `step` ("launching", "preparing") of this kernel met.
  Status cuda_failure(const char* step, cudaError_t error) const;

  std::string spec_;
  std::string config_;
  std::optional<double> tuned_;
  std::vector<TensorInfo> tensors_;
  std::vector<std::int64_t> output_shape_;
  std::string output_dtype_;
  std::vector<std::string> scalar_names_;
  std::vector<float> default_scalars_;
  int rows_;  // LaunchArgs::rows
  std::shared_ptr<const LoadedKernel> kernel_;
};

}  // namespace fusetune
