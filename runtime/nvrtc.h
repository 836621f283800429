// NVRTC: CUDA C++ source to a cubin for one arch, with the resources the kernel uses. Needs the
// CUDA toolkit's libnvrtc but no GPU and no driver. Thread safe: each call is independent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fusetune {

struct CompiledBinary {
  std::string arch;         // "sm_90"
  std::vector<char> cubin;  // loadable machine code
  int registers = -1;       // per thread
  int spill_bytes = 0;      // spill stores
  int static_smem_bytes = 0;
  std::string log;  // NVRTC's and ptxas' messages
  double compile_ms = 0;
};

// Compiles `source` (whose kernel is `entry`) for `arch`. Throws fusetune::Error
// (compile_error) with the compiler's log, each error followed by the source line it names.
// With FUSETUNE_DUMP=<folder> set, every source and its log are also written there, as
// <entry>.<arch>.cu and <entry>.<arch>.log, for reading or compiling by hand; where the folder
// cannot be written, a warning says so on standard error (once per folder) and compiling goes on.
CompiledBinary compile_to_cubin(const std::string& source, const std::string& entry,
                                const std::string& arch);

// "13.0": the NVRTC that compiles, part of every cache key.
const std::string& nvrtc_version();

// How many compile_to_cubin calls this process has made (a warm load makes none).
std::uint64_t nvrtc_compile_count();

}  // namespace fusetune
