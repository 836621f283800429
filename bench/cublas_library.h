// cuBLAS, loaded when the first baseline needs it rather than linked: `fusetune bench` is its only
// user, and every other command (cache ls, tune, ...) must start on machines that have NVRTC but
// no libcublas, as a Python process holding only the CUDA runtime does.
#pragma once

#include <cublas_v2.h>

namespace fusetune {

// The functions of libcublas the baselines call, with the signatures of the headers built
// against.
struct CublasLibrary {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasDestroy_v2) destroy;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSgemm_v2) sgemm;
  // cublasGemmEx names an inline overload too: the exported one takes a cublasComputeType_t.
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                            const void*, const void*, cudaDataType, int, const void*, cudaDataType,
                            int, const void*, void*, cudaDataType, int, cublasComputeType_t,
                            cublasGemmAlgo_t);
  decltype(&cublasGetStatusString) status_string;
};

// libcublas.so.<the headers' major version>, from the loader's path, else from the CUDA toolkit
// fusetune was built with; loaded on the first call and kept. Thread safe. Throws
// Error(cuda_error) naming the file and the loader's reason when it cannot be loaded.
const CublasLibrary& cublas();

}  // namespace fusetune
