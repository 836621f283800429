// x wᵀ in fp64 from fp32 operands as a linear layer stores them: x [m, k] and w [n, k]
// row-major, the result [m, n]. The reference of the int8x tests, host model and kernels alike.
#pragma once

#include <cstddef>
#include <vector>

namespace fusetune {

inline std::vector<double> fp64_product(const std::vector<float>& x, const std::vector<float>& w,
                                        int m, int n, int k) {
  std::vector<double> product(static_cast<std::size_t>(m) * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0;
      for (int q = 0; q < k; ++q)
        sum +=
            double{x[static_cast<std::size_t>(i) * k + q]} * w[static_cast<std::size_t>(j) * k + q];
      product[static_cast<std::size_t>(i) * n + j] = sum;
    }
  return product;
}

}  // namespace fusetune
