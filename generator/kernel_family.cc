#include "generator/kernel_family.h"

#include <fmt/format.h>

namespace fusetune {

std::vector<std::string_view> data_type_words() {
  std::vector<std::string_view> words(std::size(kDataTypes));
  for (DataType type : kDataTypes) words.at(static_cast<int>(type)) = to_string(type);
  return words;
}

std::string mma_split_reason(int block_m, int block_n, int warps_m, int warps_n) {
  return fmt::format("a {}x{} block tile does not split into {}x{} warps of 16x8 MMA tiles",
                     block_m, block_n, warps_m, warps_n);
}

}  // namespace fusetune
