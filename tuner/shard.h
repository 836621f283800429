// A deterministic share of a list of specs, so that the jobs of a cluster's job array can each
// tune one share of the same list into a database of their own, to be merged afterwards. The
// share depends only on the set of specs: not on the order of the lines, nor on duplicates.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fusetune {

// Share `index` of `count` (0 <= index < count).
struct Shard {
  int index = 0;
  int count = 1;  // the default shard is the whole list
};

// "I/N" with 0 <= I < N, as `--shard` takes it; nullopt for anything else.
std::optional<Shard> parse_shard(std::string_view text);

// `specs` (canonical texts) sorted and with duplicates dropped: the order shards are cut from.
std::vector<std::string> canonical_order(std::vector<std::string> specs);

// The specs of `shard`, in canonical order: the j-th spec of canonical_order(specs) belongs to
// shard j mod count. Every spec is in exactly one of the `count` shards.
std::vector<std::string> take_shard(std::vector<std::string> specs, Shard shard);

}  // namespace fusetune
