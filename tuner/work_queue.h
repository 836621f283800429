// Work shared among a few threads through one queue: each thread takes the next item whenever
// it is free, so a long item holds up only its own thread. `fusetune tune --specs --devices`
// runs one thread per listed GPU over the list of specs this way.
#pragma once

#include <cstddef>
#include <functional>

namespace fusetune {

// Calls `work(thread, item)` once for each item in [0, items), on `threads` threads numbered 0
// to threads - 1, each taking the lowest item not yet taken. Returns when every item is done.
// Should `work` throw, no thread takes another item, and the first exception is rethrown once
// every thread has stopped. `work` is called concurrently: it must guard what its calls share.
// Precondition: threads >= 1.
void share_work(std::size_t threads, std::size_t items,
                const std::function<void(std::size_t thread, std::size_t item)>& work);

}  // namespace fusetune
