// Resource attributes read from a cubin itself (its ELF `.nv.info` section), for when the
// compiler's log does not report them: NVRTC leaves ptxas' per-entry lines out of the log on
// some machines (seen on the H100 host, where a compile of a wgmma kernel took 41 ms).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace fusetune {

// The registers per thread that `cubin` gives its kernel `entry`; nullopt when the bytes are
// not a 64-bit ELF, the entry is not among its symbols or no register count is recorded for
// it. Never reads outside `cubin`.
std::optional<int> cubin_register_count(const std::vector<char>& cubin, std::string_view entry);

}  // namespace fusetune
