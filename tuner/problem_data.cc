#include "tuner/problem_data.h"

#include <fmt/format.h>

#include <cmath>

#include "fusetune/status.h"
#include "generator/ops.h"
#include "runtime/cuda_check.h"
#include "tuner/reference_kernels.h"

namespace fusetune {
namespace {

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (std::int64_t d : shape) count *= d;
  return count;
}

template <class T>
std::vector<T> download(const DeviceBuffer& buffer, std::int64_t count, cudaStream_t stream) {
  std::vector<T> host(count);
  check_cuda(cudaMemcpyAsync(host.data(), buffer.as<T>(), count * sizeof(T), cudaMemcpyDeviceToHost,
                             stream),
             "copying to the host");
  check_cuda(cudaStreamSynchronize(stream), "copying to the host");
  return host;
}

}  // namespace

ProblemData::ProblemData(const Spec& spec, std::uint64_t seed, cudaStream_t stream)
    : spec_(spec), stream_(stream) {
  if (spec.main.m > 65535 * 16)
    throw Error(StatusCode::invalid_argument,
                fmt::format("the fp64 reference handles up to {} rows; this spec has {}",
                            65535 * 16, spec.main.m));
  for (const TensorArg& tensor : spec.tensors()) {
    const std::int64_t count = element_count(tensor.shape);
    inputs_.emplace_back(count * element_bytes(tensor.dtype));
    if (tensor.dtype != DataType::fp32) wide_.emplace_back(count * sizeof(float));
  }
  output_count_ = element_count(spec.output_shape());
  output_ = DeviceBuffer(output_count_ * element_bytes(output_dtype()));
  reference_ = DeviceBuffer(output_count_ * sizeof(double));
  sums_ = DeviceBuffer(sizeof(ComparisonSums));
  for (std::size_t i = 0; i < inputs_.size(); ++i) args_.tensors[i] = inputs_[i].as<float>();
  args_.out = output_.as<float>();
  const std::vector<ScalarArg> scalars = spec.scalars();
  for (std::size_t i = 0; i < scalars.size(); ++i)
    args_.scalars[i] = static_cast<float>(scalars[i].value);
  refill(seed);
}

void ProblemData::refill(std::uint64_t seed) {
  const std::vector<TensorArg> tensors = spec_.tensors();
  // The second main-op operand is scaled like a linear layer's initial weights, 1/sqrt(K), so
  // that outputs stay near 1 and the epilogue's nonlinear ops are exercised where they bend.
  const float weight_scale = 1.0f / std::sqrt(static_cast<float>(spec_.main.k));
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const float scale = i == 1 ? weight_scale : 1.0f;
    const std::int64_t count = element_count(tensors[i].shape);
    check_cuda(
        fill_uniform(values(i).as<float>(), count, seed + 1000003 * i, -scale, scale, stream_),
        fmt::format("filling '{}' with random numbers", tensors[i].name));
    if (tensors[i].dtype != DataType::fp32)
      check_cuda(round_to_16bit(values(i).as<float>(), inputs_[i].as<void>(), count,
                                tensors[i].dtype, stream_),
                 fmt::format("rounding '{}' to {}", tensors[i].name, to_string(tensors[i].dtype)));
  }
  compute_reference();
}

const DeviceBuffer& ProblemData::values(std::size_t i) const {
  return spec_.main.dtype == DataType::fp32 ? inputs_.at(i) : wide_.at(i);
}

void ProblemData::compute_reference() {
  const MainOp& main = spec_.main;
  check_cuda(reference_gemm_fp64(values(0).as<float>(), values(1).as<float>(),
                                 reference_.as<double>(), main.m, main.n, main.k,
                                 main.a_k_contiguous(), main.b_k_contiguous(), stream_),
             "computing the fp64 reference");
  if (spec_.epilogue.empty()) return;

  std::vector<double> value = download<double>(reference_, output_count_, stream_);
  const std::vector<TensorArg> tensors = spec_.tensors();
  std::size_t next_tensor = 2;  // epilogue operands follow the main op's two inputs
  for (const EpilogueOp& op : spec_.epilogue) {
    const EpilogueOpInfo& info = *find_epilogue_op(op.name);
    const OperandKind operand =
        info.fixed_operand != OperandKind::none ? info.fixed_operand : op.operand;
    std::vector<float> y;
    if (operand == OperandKind::column || operand == OperandKind::row ||
        operand == OperandKind::tensor) {
      const std::size_t t = next_tensor++;
      y = download<float>(values(t), element_count(tensors[t].shape), stream_);
    }
    for (std::int64_t row = 0; row < main.m; ++row)
      for (std::int64_t column = 0; column < main.n; ++column) {
        const std::int64_t i = row * main.n + column;
        const double second = operand == OperandKind::column   ? y[column]
                              : operand == OperandKind::row    ? y[row]
                              : operand == OperandKind::tensor ? y[i]
                                                               : 0.0;
        value[i] = apply_reference(op, value[i], second);
      }
  }
  check_cuda(cudaMemcpyAsync(reference_.as<double>(), value.data(), value.size() * sizeof(double),
                             cudaMemcpyHostToDevice, stream_),
             "uploading the reference");
  check_cuda(cudaStreamSynchronize(stream_), "uploading the reference");
}

void ProblemData::poison_output() {
  // All bits set is a NaN in fp32, bf16 and fp16 alike.
  check_cuda(
      cudaMemsetAsync(output(), 0xff, output_count_ * element_bytes(output_dtype()), stream_),
      "poisoning the output");
}

Verification ProblemData::verify(const void* candidate) {
  check_cuda(cudaMemsetAsync(sums_.as<void>(), 0, sizeof(ComparisonSums), stream_),
             "clearing the comparison sums");
  check_cuda(compare_with_reference(candidate, output_dtype(), reference_.as<double>(),
                                    output_count_, sums_.as<ComparisonSums>(), stream_),
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

}  // namespace fusetune
