#include "bench/cublas_library.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <string>

#include "fusetune/status.h"

namespace fusetune {
namespace {

const std::string kSoname = fmt::format("libcublas.so.{}", CUBLAS_VER_MAJOR);

void* open_library() {
  if (void* handle = dlopen(kSoname.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
  const std::string not_on_path = dlerror();
  const std::string in_toolkit = fmt::format("{}/{}", FUSETUNE_CUDA_LIBRARY_DIR, kSoname);
  if (void* handle = dlopen(in_toolkit.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
  throw Error(StatusCode::cuda_error,
              fmt::format("the cuBLAS baseline needs {}, which cannot be loaded ({}; nor {}: {}); "
                          "install cuBLAS {} or add its folder to LD_LIBRARY_PATH",
                          kSoname, not_on_path, in_toolkit, dlerror(), CUBLAS_VER_MAJOR));
}

template <class Function>
void resolve(void* library, const char* name, Function& function) {
  function = reinterpret_cast<Function>(dlsym(library, name));
  if (!function)
    throw Error(StatusCode::cuda_error,
                fmt::format("{} has no function {}: it is not the cuBLAS {} fusetune was built "
                            "with",
                            kSoname, name, CUBLAS_VER_MAJOR));
}

CublasLibrary load() {
  void* library = open_library();  // kept open for the life of the process
  CublasLibrary functions{};
  resolve(library, "cublasCreate_v2", functions.create);
  resolve(library, "cublasDestroy_v2", functions.destroy);
  resolve(library, "cublasSetMathMode", functions.set_math_mode);
  resolve(library, "cublasSetStream_v2", functions.set_stream);
  resolve(library, "cublasSgemm_v2", functions.sgemm);
  resolve(library, "cublasGemmEx", functions.gemm_ex);
  resolve(library, "cublasGetStatusString", functions.status_string);
  return functions;
}

}  // namespace

const CublasLibrary& cublas() {
  static const CublasLibrary loaded = load();  // a failed load throws, and is retried next time
  return loaded;
}

}  // namespace fusetune
