// Compiles kernel sources with NVRTC on a pool of threads and hands back each result as it
// finishes, so that the GPU can measure early candidates while later ones still compile.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "generator/kernel_source.h"
#include "runtime/nvrtc.h"

namespace fusetune {

struct CompileOutput {
  std::size_t index = 0;                 // position of the source in the constructor's list
  std::optional<CompiledBinary> binary;  // empty when compilation failed
  std::string error;                     // the compiler's message, when it failed
};

class ParallelCompiler {
 public:
  // Starts compiling `sources` for `arch` on `threads` threads, in list order.
  ParallelCompiler(std::vector<KernelSource> sources, std::string arch, int threads);
  // Stops: unstarted sources are dropped, running compiles finish first.
  ~ParallelCompiler();
  ParallelCompiler(const ParallelCompiler&) = delete;
  ParallelCompiler& operator=(const ParallelCompiler&) = delete;

  // The next finished compile, waiting for one; nullopt once all have been handed back.
  std::optional<CompileOutput> next();

 private:
  void work();

  std::vector<KernelSource> sources_;
  std::string arch_;
  std::mutex mutex_;
  std::condition_variable finished_;
  std::size_t next_to_start_ = 0;
  std::size_t handed_back_ = 0;
  bool stopping_ = false;
  std::deque<CompileOutput> done_;
  std::vector<std::thread> threads_;
};

// Threads for compiling: one per core, fewer when memory is short (an NVRTC compile of a
// template instance peaks at a few hundred MB).
int default_compile_threads();

// The compile threads each of `tunes` sweeps running at once gets when they share `total`
// threads (0: default_compile_threads()) evenly: at least one each, since a sweep must compile.
int compile_threads_each(int total, int tunes);

}  // namespace fusetune
