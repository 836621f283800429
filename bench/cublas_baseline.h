// What a spec costs without fusion: cuBLAS SGEMM (fp32 FFMA; or its TF32 tensor-core GEMM), or
// for 16-bit inputs its GemmEx with fp32 accumulation, followed by the epilogue chain as one
// separate elementwise kernel. The baseline every GEMM
// speedup is a ratio against.
#pragma once

#include <cublas_v2.h>

#include <optional>

#include "generator/spec.h"
#include "runtime/launch_args.h"
#include "runtime/loaded_kernel.h"

namespace fusetune {

class CublasBaseline {
 public:
  // Creates the cuBLAS handle and compiles the epilogue kernel (when the chain has ops).
  // Throws Error(cuda_error, compile_error).
  CublasBaseline(const Spec& spec, bool tf32);
  ~CublasBaseline();
  CublasBaseline(const CublasBaseline&) = delete;
  CublasBaseline& operator=(const CublasBaseline&) = delete;

  // Computes the spec into args.out from args' tensors and scalars on `stream`.
  cudaError_t run(cudaStream_t stream, const LaunchArgs& args);

 private:
  Spec spec_;
  cublasHandle_t handle_ = nullptr;
  std::optional<LoadedKernel> epilogue_;
};

}  // namespace fusetune
