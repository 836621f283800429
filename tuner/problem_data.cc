#include "tuner/problem_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "fusetune/status.h"
#include "runtime/cuda_check.h"
#include "tuner/operand_layout.h"
#include "tuner/reference_epilogue.h"
#include "tuner/reference_kernels.h"

namespace fusetune {
namespace {

template <class T>
std::vector<T> download(const DeviceBuffer& buffer, std::int64_t count, cudaStream_t stream) {
  std::vector<T> host(count);
  check_cuda(cudaMemcpyAsync(host.data(), buffer.as<T>(), count * sizeof(T), cudaMemcpyDeviceToHost,
                             stream),
             "copying to the host");
  check_cuda(cudaStreamSynchronize(stream), "copying to the host");
  return host;
}

// PyTorch's default initialisation bounds a layer's weights by 1/sqrt(fan_in), which keeps
// outputs near 1 so that the epilogue's nonlinear ops are exercised where they bend. fan_in is
// K for a linear layer and weight.size(1)·taps for a convolution: C/groups, or K/groups for a
// transposed one.
float weight_bound(const MainOp& main) {
  if (!main.is_conv()) return 1.0f / std::sqrt(static_cast<float>(main.k));
  const ConvGeometry& c = main.conv;
  const std::int64_t fan_in =
      (main.is_transposed_conv() ? c.out_channels : c.in_channels) / c.groups * c.taps();
  return 1.0f / std::sqrt(static_cast<float>(fan_in));
}

ConvReferenceShape conv_reference_shape(const MainOp& main) {
  const ConvGeometry& c = main.conv;
  const std::array<std::int64_t, 3> out = main.conv_output_size();
  ConvReferenceShape shape{.batch = c.batch,
                           .in_channels = c.in_channels,
                           .out_channels = c.out_channels,
                           .groups = c.groups,
                           .transposed = main.is_transposed_conv()};
  for (int d = 0; d < 3; ++d) {
    shape.in_size[d] = c.size[d];
    shape.out_size[d] = out[d];
    shape.kernel[d] = c.kernel[d];
    shape.stride[d] = c.stride[d];
    shape.padding[d] = c.padding[d];
    shape.dilation[d] = c.dilation[d];
  }
  return shape;
}

}  // namespace

ProblemData::ProblemData(const Spec& spec, std::uint64_t seed, cudaStream_t stream,
                         bool host_part_later, InputDistribution inputs)
    : spec_(spec), stream_(stream), inputs_distribution_(inputs) {
  // The GEMM reference's grid has a block row per 16 rows (gridDim.y < 65536); convolutions'
  // grid-stride over their output.
  if (!spec.main.is_conv() && spec.main.m > 65535 * 16)
    throw Error(StatusCode::invalid_argument,
                fmt::format("the fp64 reference handles up to {} rows; this spec has {}",
                            65535 * 16, spec.main.m));
  for (const TensorArg& tensor : spec.tensors()) {
    const std::int64_t count = element_count(tensor.shape);
    inputs_.emplace_back(count * element_bytes(tensor.dtype));
    if (tensor.dtype != DataType::fp32) wide_.emplace_back(count * sizeof(float));
  }
  output_count_ = element_count(spec.output_shape());
  const std::vector<TensorArg> tensors = spec.tensors();
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].updated) {
      const std::int64_t count = element_count(tensors[i].shape);
      updated_.push_back({i, DeviceBuffer(count * element_bytes(tensors[i].dtype)),
                          DeviceBuffer(count * sizeof(double))});
    }
  output_ = DeviceBuffer(output_count_ * element_bytes(output_dtype()));
  reference_ = DeviceBuffer(output_count_ * sizeof(double));
  sums_ = DeviceBuffer(sizeof(ComparisonSums));
  for (std::size_t i = 0; i < inputs_.size(); ++i) args_.tensors[i] = inputs_[i].as<float>();
  args_.out = output_.as<float>();
  args_.rows = static_cast<int>(spec.main.launch_rows());
  const std::vector<ScalarArg> scalars = spec.scalars();
  for (std::size_t i = 0; i < scalars.size(); ++i)
    args_.scalars[i] = static_cast<float>(scalars[i].value);
  draw(seed, host_part_later);
}

ProblemData::~ProblemData() {
  if (host_reference_.valid()) host_reference_.wait();  // it reads spec_
}

void ProblemData::refill(std::uint64_t seed) { draw(seed, false); }

void ProblemData::draw(std::uint64_t seed, bool host_part_later) {
  if (host_reference_.valid()) host_reference_.wait();  // stale: its inputs are overwritten
  const std::vector<TensorArg> tensors = spec_.tensors();
  const float weight_scale = weight_bound(spec_.main);  // the second main-op operand's
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const float scale = i == 1 ? weight_scale : 1.0f;
    // A variance (batch_norm's running one) is positive: about a fresh module's 1.
    const bool variance = tensors[i].name.find("running_var") != std::string::npos;
    const float lo = variance ? 0.5f : -scale, hi = variance ? 1.5f : scale;
    const std::int64_t count = element_count(tensors[i].shape);
    const std::uint64_t tensor_seed = seed + 1000003 * i;
    check_cuda(inputs_distribution_ == InputDistribution::normal && !variance
                   ? fill_normal(values(i).as<float>(), count, tensor_seed, scale, stream_)
                   : fill_uniform(values(i).as<float>(), count, tensor_seed, lo, hi, stream_),
               fmt::format("filling '{}' with random numbers", tensors[i].name));
    if (tensors[i].dtype != DataType::fp32)
      check_cuda(round_to_16bit(values(i).as<float>(), inputs_[i].as<void>(), count,
                                tensors[i].dtype, stream_),
                 fmt::format("rounding '{}' to {}", tensors[i].name, to_string(tensors[i].dtype)));
  }
  for (const Updated& u : updated_)  // running statistics as a fresh module's: 0 and 1 shifted
    check_cuda(cudaMemcpyAsync(u.drawn.as<void>(), inputs_[u.tensor].as<void>(), u.drawn.bytes(),
                               cudaMemcpyDeviceToDevice, stream_),
               "keeping the drawn values of an updated input");
  begin_reference(host_part_later);
}

const DeviceBuffer& ProblemData::values(std::size_t i) const {
  return spec_.main.dtype == DataType::fp32 ? inputs_.at(i) : wide_.at(i);
}

void ProblemData::begin_reference(bool host_part_later) {
  const MainOp& main = spec_.main;
  const std::int64_t main_count = element_count(spec_.main_shape());
  // The main op writes the reference itself unless the chain changes the value's shape.
  const bool reshaped = spec_.output_shape() != spec_.main_shape();
  DeviceBuffer pre_pool;
  if (reshaped) pre_pool = DeviceBuffer(main_count * sizeof(double));
  const DeviceBuffer& main_result = reshaped ? pre_pool : reference_;
  check_cuda(
      main.is_conv()
          ? reference_conv_fp64(values(0).as<float>(), values(1).as<float>(),
                                main_result.as<double>(), conv_reference_shape(main), stream_)
          : reference_gemm_fp64(values(0).as<float>(), values(1).as<float>(),
                                main_result.as<double>(), main.m, main.n, main.k,
                                main.a_k_contiguous(), main.b_k_contiguous(), stream_),
      "computing the fp64 reference");
  if (spec_.chain.empty()) return;

  std::vector<double> value = download<double>(main_result, main_count, stream_);
  pre_pool = DeviceBuffer();
  // The operand tensors are read here, so that the host half touches no GPU state.
  std::vector<std::vector<float>> operands;
  const std::vector<TensorArg> tensors = spec_.tensors();
  for (std::size_t i = 0; i < tensors.size(); ++i)
    operands.push_back(i < 2
                           ? std::vector<float>()
                           : download<float>(values(i), element_count(tensors[i].shape), stream_));
  auto host_half = [this, value = std::move(value), operands = std::move(operands)]() mutable {
    return reference_chain(spec_, std::move(value),
                           [&](std::size_t i) { return std::move(operands.at(i)); });
  };
  host_reference_ = std::async(host_part_later ? std::launch::async : std::launch::deferred,
                               std::move(host_half));
  if (!host_part_later) finish_reference();
}

void ProblemData::finish_reference() {
  if (!host_reference_.valid()) return;
  const ChainReference reference = host_reference_.get();
  check_cuda(
      cudaMemcpyAsync(reference_.as<double>(), reference.output.data(),
                      reference.output.size() * sizeof(double), cudaMemcpyHostToDevice, stream_),
      "uploading the reference");
  for (const Updated& u : updated_) {
    const std::vector<double>& values = reference.updated.at(u.tensor);
    check_cuda(cudaMemcpyAsync(u.reference.as<void>(), values.data(),
                               values.size() * sizeof(double), cudaMemcpyHostToDevice, stream_),
               "uploading the reference of an updated input");
  }
  check_cuda(cudaStreamSynchronize(stream_), "uploading the reference");
}

std::vector<double> ProblemData::reference_values() const {
  return download<double>(reference_, output_count_, stream_);
}

std::vector<float> ProblemData::input_values(std::size_t i) const {
  return download<float>(values(i), element_count(spec_.tensors().at(i).shape), stream_);
}

void ProblemData::poison_output() {
  // All bits set is a NaN in fp32, bf16 and fp16 alike.
  check_cuda(
      cudaMemsetAsync(output(), 0xff, output_count_ * element_bytes(output_dtype()), stream_),
      "poisoning the output");
  for (const Updated& u : updated_)
    check_cuda(cudaMemcpyAsync(inputs_[u.tensor].as<void>(), u.drawn.as<void>(), u.drawn.bytes(),
                               cudaMemcpyDeviceToDevice, stream_),
               "restoring an updated input");
}

Verification ProblemData::compare(const void* values, DataType type, const double* reference,
                                  std::int64_t count) {
  check_cuda(cudaMemsetAsync(sums_.as<void>(), 0, sizeof(ComparisonSums), stream_),
             "clearing the comparison sums");
  check_cuda(
      compare_with_reference(values, type, reference, count, sums_.as<ComparisonSums>(), stream_),
      "comparing with the reference");
  ComparisonSums sums;
  check_cuda(cudaMemcpyAsync(&sums, sums_.as<void>(), sizeof sums, cudaMemcpyDeviceToHost, stream_),
             "reading the comparison");
  check_cuda(cudaStreamSynchronize(stream_), "comparing with the reference");
  Verification v;
  v.non_finite = static_cast<std::int64_t>(sums.non_finite);
  v.rel_err = sums.squared_reference > 0 ? std::sqrt(sums.squared_error / sums.squared_reference)
                                         : std::sqrt(sums.squared_error);
  return v;
}

Verification ProblemData::verify(const void* candidate) {
  finish_reference();
  Verification v = compare(candidate, output_dtype(), reference_.as<double>(), output_count_);
  const std::vector<TensorArg> tensors = spec_.tensors();
  for (const Updated& u : updated_) {
    const TensorArg& tensor = tensors.at(u.tensor);
    const Verification w = compare(inputs_[u.tensor].as<void>(), tensor.dtype,
                                   u.reference.as<double>(), element_count(tensor.shape));
    v.non_finite += w.non_finite;
    v.rel_err = std::max(v.rel_err, w.rel_err);
  }
  return v;
}

}  // namespace fusetune
