#include "generator/row_buckets.h"

#include <algorithm>

#include "fusetune/status.h"
#include "generator/spec_parser.h"

namespace fusetune {

std::vector<Spec> power_of_two_buckets(const Spec& range) {
  if (!range.main.is_row_range()) return {range};
  std::vector<Spec> buckets;
  std::int64_t low = 1, top = kFirstBucketTop;
  while (low <= range.main.m) {
    const std::int64_t from = std::max(low, range.main.m_min), to = std::min(top, range.main.m);
    if (from <= to) {
      Spec bucket = range.at_rows(to);
      if (from < to) bucket.main.m_min = from;
      buckets.push_back(bucket);
    }
    low = top + 1;
    top *= 2;
  }
  return buckets;
}

std::vector<Spec> buckets_serving(const Spec& shape, const std::vector<std::string>& tuned) {
  std::vector<Spec> buckets;
  for (const std::string& text : tuned) {
    if (text.find("..") == std::string::npos) continue;  // no range: not worth parsing
    try {
      Spec bucket = parse_spec(text);
      const auto same = [&](const Spec& b) { return b.signature() == bucket.signature(); };
      if (bucket.serves_rows_of(shape) && std::ranges::none_of(buckets, same))
        buckets.push_back(std::move(bucket));
    } catch (const Error&) {  // stored by a build that reads specs otherwise
    }
  }
  std::ranges::stable_sort(buckets, {}, [](const Spec& b) { return b.main.m - b.main.m_min; });
  return buckets;
}

}  // namespace fusetune
