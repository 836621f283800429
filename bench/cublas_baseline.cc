#include "bench/cublas_baseline.h"

#include <fmt/format.h>

#include <algorithm>

#include "bench/cublas_library.h"
#include "fusetune/status.h"
#include "generator/elementwise_emitter.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/nvrtc.h"

namespace fusetune {
namespace {

void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(StatusCode::cuda_error,
                fmt::format("cuBLAS {} failed: {}", what, cublas().status_string(status)));
}

cudaDataType_t cuda_data_type(DataType type) {
  return type == DataType::bf16 ? CUDA_R_16BF : type == DataType::fp16 ? CUDA_R_16F : CUDA_R_32F;
}

}  // namespace

CublasBaseline::CublasBaseline(const Spec& spec, bool tf32) : spec_(spec) {
  check_cublas(cublas().create(&handle_), "handle creation");
  // PyTorch's fp32 matmul: no TF32 by default, TF32 tensor ops with allow_tf32.
  check_cublas(
      cublas().set_math_mode(handle_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
      "math mode");
  const bool elementwise = std::all_of(spec.chain.begin(), spec.chain.end(), [](const ChainOp& op) {
    return std::holds_alternative<EpilogueOp>(op);
  });
  if (!elementwise)
    throw Error(StatusCode::invalid_argument,
                fmt::format("the cuBLAS baseline runs elementwise chains only, and '{}' reduces; "
                            "compare it with PyTorch (bench/reduction_bench.py)",
                            spec.canonical()));
  if (!spec.chain.empty()) {
    const KernelSource source = emit_elementwise_epilogue(spec);
    const CompiledBinary binary =
        compile_to_cubin(source.code, source.name, require_device().arch());
    epilogue_.emplace(binary.cubin, source.name, source.launch);
  }
}

CublasBaseline::~CublasBaseline() { cublas().destroy(handle_); }

cudaError_t CublasBaseline::run(cudaStream_t stream, const LaunchArgs& args) {
  const MainOp& main = spec_.main;
  const int m = static_cast<int>(main.m), n = static_cast<int>(main.n),
            k = static_cast<int>(main.k);
  // Row-major out[M,N] = A·B is column-major out' = B'·A' with B' [N,K] and A' [K,M].
  const cublasOperation_t op_b = main.b_k_contiguous() ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = main.a_k_contiguous() ? CUBLAS_OP_N : CUBLAS_OP_T;
  const int ld_b = main.b_k_contiguous() ? k : n;
  const int ld_a = main.a_k_contiguous() ? k : m;
  const float one = 1, zero = 0;
  cublas().set_stream(handle_, stream);
  const cublasStatus_t status =
      main.dtype == DataType::fp32
          ? cublas().sgemm(handle_, op_b, op_a, n, m, k, &one, args.tensors[1], ld_b,
                           args.tensors[0], ld_a, &zero, args.out, n)
          // 16-bit inputs, fp32 accumulation, the output in the spec's output type.
          : cublas().gemm_ex(
                handle_, op_b, op_a, n, m, k, &one, args.tensors[1], cuda_data_type(main.dtype),
                ld_b, args.tensors[0], cuda_data_type(main.dtype), ld_a, &zero, args.out,
                cuda_data_type(main.output_dtype()), n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  if (status != CUBLAS_STATUS_SUCCESS) return cudaErrorUnknown;
  return epilogue_ ? epilogue_->launch(stream, args) : cudaSuccess;
}

}  // namespace fusetune
