#include "tuner/parallel_compiler.h"

#include <algorithm>
#include <fstream>
#include <string>

#include "fusetune/status.h"

namespace fusetune {

ParallelCompiler::ParallelCompiler(std::vector<KernelSource> sources, std::string arch, int threads)
    : sources_(std::move(sources)), arch_(std::move(arch)) {
  const int count = std::max(1, std::min<int>(threads, static_cast<int>(sources_.size())));
  for (int i = 0; i < count; ++i) threads_.emplace_back([this] { work(); });
}

ParallelCompiler::~ParallelCompiler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

void ParallelCompiler::work() {
  for (;;) {
    std::size_t index;
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || next_to_start_ == sources_.size()) return;
      index = next_to_start_++;
    }
    CompileOutput output;
    output.index = index;
    try {
      output.binary = compile_to_cubin(sources_[index].code, sources_[index].name,
                                       target_arch(sources_[index], arch_));
    } catch (const std::exception& e) {
      output.error = e.what();
    }
    {
      std::lock_guard lock(mutex_);
      done_.push_back(std::move(output));
    }
    finished_.notify_one();
  }
}

std::optional<CompileOutput> ParallelCompiler::next() {
  std::unique_lock lock(mutex_);
  if (handed_back_ == sources_.size()) return std::nullopt;
  finished_.wait(lock, [this] { return !done_.empty(); });
  CompileOutput output = std::move(done_.front());
  done_.pop_front();
  ++handed_back_;
  return output;
}

int default_compile_threads() {
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    long long kilobytes = 0;
    meminfo >> kilobytes;
    if (key == "MemAvailable:") {
      const int by_memory = static_cast<int>(kilobytes / (768 * 1024));
      return std::max(1, std::min(cores, by_memory));
    }
    meminfo.ignore(256, '\n');
  }
  return cores;
}

int compile_threads_each(int total, int tunes) {
  const int threads = total > 0 ? total : default_compile_threads();
  return std::max(1, threads / std::max(1, tunes));
}

}  // namespace fusetune
