// Buckets of row counts (a spec with m=lo..hi): one tuned kernel serves every call whose row
// count is in the range. Which buckets `fusetune tune --buckets` makes of a range, and which
// tuned bucket serves a call.
#pragma once

#include <string>
#include <vector>

#include "generator/spec.h"

namespace fusetune {

// The largest bucket's low end: 1..16 is one bucket, where the matrix-vector family serves
// (M <= 16) and a call streams the weight once whatever its rows.
inline constexpr std::int64_t kFirstBucketTop = 16;

// The buckets that cover `range` (a spec with m=lo..hi): 1..16, then powers of two (17..32,
// 33..64, ..., 2049..4096), each cut to the range; so that every call is within twice the rows
// of its bucket's top, the row count whose time a bucket is tuned at. A piece of one row count
// is a spec of that shape. A spec of one shape is its own.
std::vector<Spec> power_of_two_buckets(const Spec& range);

// Of `tuned` (canonical specs, as a database stores them), the buckets whose kernel serves
// `shape` (Spec::serves_rows_of), the narrowest range first and each once. Texts this build
// does not read, and specs that are no bucket, are passed over.
std::vector<Spec> buckets_serving(const Spec& shape, const std::vector<std::string>& tuned);

}  // namespace fusetune
