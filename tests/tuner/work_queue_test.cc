// Work shared among threads through one queue: each item once, on the threads asked for, and a
// failure stops the queue without abandoning the items already running.
#include "tuner/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tuner/parallel_compiler.h"

namespace fusetune {
namespace {

TEST(ShareWork, RunsEveryItemOnceOnTheGivenThreads) {
  std::mutex mutex;
  std::vector<int> runs(50, 0);
  std::set<std::size_t> threads;
  share_work(3, runs.size(), [&](std::size_t thread, std::size_t item) {
    std::lock_guard lock(mutex);
    ++runs[item];
    threads.insert(thread);
  });
  EXPECT_EQ(runs, std::vector<int>(50, 1));
  for (std::size_t thread : threads) EXPECT_LT(thread, 3u);
}

TEST(ShareWork, ThreadsWorkAtOnceSoALongItemHoldsUpOnlyItsOwn) {
  std::atomic<int> started = 0;
  std::atomic<bool> overlapped = false;
  // Each item waits for the other to start: only a second thread can start it.
  share_work(2, 2, [&](std::size_t, std::size_t) {
    ++started;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (started < 2 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (started == 2) overlapped = true;
  });
  EXPECT_TRUE(overlapped);
}

TEST(ShareWork, AFailureStopsTheQueueAndIsRethrownAfterTheRunningItemsFinish) {
  std::atomic<int> started = 0;
  std::atomic<int> finished = 0;
  EXPECT_THROW(share_work(1, 10,
                          [&](std::size_t, std::size_t item) {
                            ++started;
                            if (item == 3) throw std::runtime_error("item 3 failed");
                            ++finished;
                          }),
               std::runtime_error);
  EXPECT_EQ(started, 4) << "no item is taken after the failure";
  EXPECT_EQ(finished, 3);
}

TEST(ShareWork, NoItemsRunsNothing) {
  share_work(4, 0, [](std::size_t, std::size_t) { ADD_FAILURE() << "ran an item"; });
}

TEST(CompileThreadsEach, SharesTheTotalEvenlyAndLeavesEachAtLeastOne) {
  EXPECT_EQ(compile_threads_each(16, 1), 16);
  EXPECT_EQ(compile_threads_each(16, 4), 4);
  EXPECT_EQ(compile_threads_each(16, 3), 5);
  EXPECT_EQ(compile_threads_each(2, 4), 1);
  EXPECT_EQ(compile_threads_each(0, 1), default_compile_threads());
  EXPECT_EQ(compile_threads_each(0, 1000), 1);
}

}  // namespace
}  // namespace fusetune
