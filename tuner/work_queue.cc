#include "tuner/work_queue.h"

#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace fusetune {

void share_work(std::size_t threads, std::size_t items,
                const std::function<void(std::size_t thread, std::size_t item)>& work) {
  std::mutex mutex;
  std::size_t next = 0;
  std::exception_ptr failure;
  // The next item for a free thread; none once all are taken or one has failed.
  auto take = [&]() -> std::optional<std::size_t> {
    std::lock_guard lock(mutex);
    if (failure || next == items) return std::nullopt;
    return next++;
  };
  auto run = [&](std::size_t thread) {
    while (const std::optional<std::size_t> item = take()) {
      try {
        work(thread, *item);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  std::vector<std::jthread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(run, t);
  pool.clear();  // joins
  if (failure) std::rethrow_exception(failure);
}

}  // namespace fusetune
