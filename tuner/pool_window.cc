#include "tuner/pool_window.h"

#include <algorithm>

namespace fusetune {

Extents spatial_extents(const Shape& shape) {
  Extents extents{1, 1, 1};
  std::copy(shape.begin() + 2, shape.end(), extents.end() - (shape.size() - 2));
  return extents;
}

PoolOp pool_over(PoolOp pool, const Shape& shape) {
  if (shape.size() == 4) {
    pool.kernel[0] = pool.stride[0] = 1;
    pool.padding[0] = 0;
  }
  return pool;
}

PoolWindow pool_window(const PoolOp& pool, const Extents& in, const Extents& o) {
  PoolWindow w;
  for (int d = 0; d < 3; ++d) {
    const std::int64_t start = o[d] * pool.stride[d] - pool.padding[d];
    const std::int64_t stop = start + pool.kernel[d];
    w.divisor *= std::min(stop, in[d] + pool.padding[d]) - start;
    w.begin[d] = std::max<std::int64_t>(start, 0);
    w.end[d] = std::min(stop, in[d]);
  }
  return w;
}

}  // namespace fusetune
