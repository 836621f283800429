#include "tools/tune_misses.h"

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "cache/database.h"
#include "generator/spec_parser.h"
#include "runtime/device.h"
#include "runtime/tuning_key.h"
#include "tools/commands.h"
#include "tools/tune_list.h"

namespace fusetune::cli {
namespace {

// Whether `miss` was noted on `device` by this build (the same NVRTC and generator): misses of
// other GPUs or older builds are left for those to tune.
bool noted_here(const cache::MissRecord& miss, const DeviceInfo& device) {
  cache::TuningKey here = tuning_key(parse_spec(miss.spec), miss.key.precision, device.name,
                                     device.arch(), device.sm_count);
  return here == miss.key;
}

}  // namespace

int tune_misses(const TuneArgs& args) {
  const DeviceInfo device = require_device(args.device);
  const std::string database = database_path(args.database);
  const auto db = cache::Database::open(database);
  std::map<std::string, std::vector<cache::MissRecord>> by_precision;
  for (const cache::MissRecord& miss : db->misses())
    if (noted_here(miss, device)) by_precision[miss.key.precision].push_back(miss);
  if (by_precision.empty() && !args.json) {
    fmt::print("no untuned loads noted in {} on {}: nothing to tune\n", database,
               device.description());
    return kSuccess;
  }
  bool all_tuned = true;
  std::vector<SpecOutcome> all;  // every precision's, for one JSON document
  for (const auto& [precision, misses] : by_precision) {
    TuneArgs group = args;
    group.precision = precision;
    std::vector<std::string> specs;
    for (const cache::MissRecord& miss : misses) specs.push_back(miss.spec);
    const std::vector<SpecOutcome> outcomes =
        tune_specs(group, specs, fmt::format("the misses at precision {}", precision));
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      if (outcomes[i].succeeded())
        db->forget_miss(misses[i].key);
      else
        all_tuned = false;
    }
    all.insert(all.end(), outcomes.begin(), outcomes.end());
  }
  if (args.json) print_list_json(all, args);
  return all_tuned ? kSuccess : kFailure;
}

}  // namespace fusetune::cli
