// cuBLAS is loaded when a baseline first needs it: where the toolkit fusetune was built with is
// installed, every function the baselines call resolves, with no GPU needed.
#include "bench/cublas_library.h"

#include <gtest/gtest.h>

namespace fusetune {
namespace {

TEST(CublasLibrary, LoadsFromTheToolkitAndResolvesEveryFunction) {
  const CublasLibrary& library = cublas();
  EXPECT_NE(library.create, nullptr);
  EXPECT_NE(library.destroy, nullptr);
  EXPECT_NE(library.set_math_mode, nullptr);
  EXPECT_NE(library.set_stream, nullptr);
  EXPECT_NE(library.sgemm, nullptr);
  EXPECT_NE(library.gemm_ex, nullptr);
  EXPECT_NE(library.status_string(CUBLAS_STATUS_NOT_INITIALIZED), nullptr);
}

TEST(CublasLibrary, IsLoadedOnce) { EXPECT_EQ(&cublas(), &cublas()); }

}  // namespace
}  // namespace fusetune
