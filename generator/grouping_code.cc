#include "generator/grouping_code.h"

#include <fmt/format.h>

namespace fusetune {

std::vector<Run> runs_of(const Grouping& grouping) {
  std::vector<Run> runs;
  for (std::size_t d = 0; d < grouping.view.size(); ++d) {
    if (grouping.view[d] == 1) continue;
    if (!runs.empty() && runs.back().reduced == grouping.reduced[d])
      runs.back().extent *= grouping.view[d];
    else
      runs.push_back({grouping.view[d], static_cast<bool>(grouping.reduced[d]), 0});
  }
  std::int64_t stride = 1;
  for (auto run = runs.rbegin(); run != runs.rend(); ++run) {
    run->stride = stride;
    stride *= run->extent;
  }
  return runs;
}

bool side_by_side(const Grouping& grouping) {
  const std::vector<Run> runs = runs_of(grouping);
  return !runs.empty() && runs.back().reduced;
}

std::string index_code(const std::vector<Run>& runs) {
  std::string code = "    long long index = 0;\n";
  for (auto run = runs.rbegin(); run != runs.rend(); ++run) {
    const char* from = run->reduced ? "p" : "g";
    code += fmt::format("    index += {0} % {1}LL * {2}LL;\n    {0} /= {1}LL;\n", from, run->extent,
                        run->stride);
  }
  return code + "    return index;\n";
}

std::string group_code(const std::vector<Run>& runs) {
  std::string g = "0LL";
  for (const Run& run : runs)
    if (!run.reduced)
      g = fmt::format("({}) * {}LL + i / {}LL % {}LL", g, run.extent, run.stride, run.extent);
  return g;
}

}  // namespace fusetune
