#include "runtime/prepared_operands.h"

namespace fusetune {

bool PreparedOperands::still_prepared(cudaStream_t stream, std::size_t step, const void* address) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto it = records_.find({stream, step});
  return it != records_.end() && !it->second.captured && it->second.address == address;
}

void PreparedOperands::prepared(cudaStream_t stream, std::size_t step, const void* address,
                                bool captured) {
  const std::lock_guard<std::mutex> lock(mutex_);
  Record& record = records_[{stream, step}];
  record.address = address;
  record.captured = record.captured || captured;
}

void PreparedOperands::forget(cudaStream_t stream, std::size_t step) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (const auto it = records_.find({stream, step}); it != records_.end())
    it->second.address = nullptr;
}

}  // namespace fusetune
