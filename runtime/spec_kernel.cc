#include "runtime/spec_kernel.h"

#include <fmt/format.h>

#include <utility>

namespace fusetune {

KernelInterface interface_of(const Spec& spec) {
  return {.spec = spec.canonical(),
          .tensors = spec.tensors(),
          .output_shape = spec.output_shape(),
          .output_dtype = spec.main.output_dtype(),
          .scalars = spec.scalars(),
          .rows = static_cast<int>(spec.main.launch_rows())};
}

SpecKernel::SpecKernel(const Spec& spec, std::string config, std::optional<double> tuned,
                       std::shared_ptr<const LoadedKernel> kernel)
    : SpecKernel(interface_of(spec), std::move(config), tuned, std::move(kernel)) {}

SpecKernel::SpecKernel(const KernelInterface& interface, std::string config,
                       std::optional<double> tuned, std::shared_ptr<const LoadedKernel> kernel)
    : spec_(interface.spec),
      config_(std::move(config)),
      tuned_(tuned),
      output_shape_(interface.output_shape),
      output_dtype_(to_string(interface.output_dtype)),
      rows_(interface.rows),
      kernel_(std::move(kernel)) {
  for (const TensorArg& t : interface.tensors)
    tensors_.push_back({t.name, t.shape, std::string(to_string(t.dtype)), t.updated});
  for (const ScalarArg& s : interface.scalars) {
    scalar_names_.push_back(s.name);
    default_scalars_.push_back(static_cast<float>(s.value));
  }
}

Status SpecKernel::prepare(cudaStream_t stream) const {
  if (const cudaError_t error = kernel_->prepare(stream); error != cudaSuccess)
    return cuda_failure("preparing", error);
  return {};
}

Status SpecKernel::launch(cudaStream_t stream, const Arguments& arguments) const {
  if (Status status = check(arguments); !status.ok()) return status;
  LaunchArgs args;
  for (std::size_t i = 0; i < arguments.tensors.size(); ++i)
    args.tensors[i] = static_cast<const float*>(arguments.tensors[i]);
  args.out = static_cast<float*>(arguments.out);
  const std::vector<float>& scalars =
      arguments.scalars.empty() ? default_scalars_ : arguments.scalars;
  for (std::size_t i = 0; i < scalars.size(); ++i) args.scalars[i] = scalars[i];
  args.rows = rows_;
  std::uint32_t unchanged = 0;
  for (std::size_t t : arguments.unchanged) unchanged |= 1u << t;
  if (const cudaError_t error = kernel_->launch(stream, args, unchanged); error != cudaSuccess)
    return cuda_failure("launching", error);
  return {};
}

Status SpecKernel::cuda_failure(const char* step, cudaError_t error) const {
  std::string hint;
  if (error == cudaErrorMisalignedAddress)
    hint =
        " (its operands are read by TMA: pass 16-byte aligned tensors, as every fresh CUDA "
        "allocation is)";
  if (error == cudaErrorStreamCaptureUnsupported && kernel_->needs_workspace())
    hint =
        " (its scratch memory for a stream is allocated by Kernel::prepare(stream) or its first "
        "launch there, which may not happen while a CUDA graph is captured: prepare the stream "
        "before capturing it)";
  return Status(StatusCode::cuda_error,
                fmt::format("{} {} failed: {}{}", step, config_, cudaGetErrorString(error), hint));
}

Status SpecKernel::check(const Arguments& arguments) const {
  auto invalid = [](std::string message) {
    return Status(StatusCode::invalid_argument, std::move(message));
  };
  if (arguments.tensors.size() != tensors_.size()) {
    std::string names;
    for (const TensorInfo& t : tensors_) names += (names.empty() ? "" : ", ") + t.name;
    return invalid(fmt::format("{} takes {} tensors ({}), got {}", spec_, tensors_.size(), names,
                               arguments.tensors.size()));
  }
  if (!arguments.scalars.empty() && arguments.scalars.size() != scalar_names_.size())
    return invalid(fmt::format("{} takes {} scalars, got {}; pass none to use the spec's values",
                               spec_, scalar_names_.size(), arguments.scalars.size()));
  auto misaligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 != 0; };
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const void* p = arguments.tensors[i];
    if (!p) return invalid(fmt::format("tensor '{}' is a null pointer", tensors_[i].name));
    if (misaligned(p))
      return invalid(
          fmt::format("tensor '{}' at {} is not 16-byte aligned, which fusetune "
                      "kernels need (tensors from cudaMalloc or PyTorch are)",
                      tensors_[i].name, p));
  }
  for (std::size_t t : arguments.unchanged)
    if (t >= tensors_.size())
      return invalid(fmt::format("unchanged tensor {}: {} takes {} tensors, numbered from 0", t,
                                 spec_, tensors_.size()));
  if (!arguments.out) return invalid("the output is a null pointer");
  if (misaligned(arguments.out))
    return invalid(fmt::format("the output at {} is not 16-byte aligned",
                               static_cast<const void*>(arguments.out)));
  return {};
}

}  // namespace fusetune
