#include "runtime/nearest_tuned.h"

#include <algorithm>
#include <vector>

#include "fusetune/status.h"
#include "generator/shape_neighbors.h"
#include "generator/spec_parser.h"
#include "runtime/tuning_key.h"

namespace fusetune {
namespace {

struct Neighbour {
  Spec spec;
  KernelConfig config;
  double time_ms = 0;
  double distance = 0;
  cache::Layer layer = cache::Layer::user;
};

// Whether `tuning` was made where `here` was (device and build: every key field but the
// signature and precision) at a precision `allowed` holds (under auto, measured within the
// tolerance).
bool usable(const cache::TuningRecord& tuning, const cache::TuningKey& here,
            const PrecisionPolicy& policy, const std::vector<Precision>& allowed) {
  if (tuning.winner.empty() || !tuning.winner_time_ms) return false;
  const std::optional<Precision> precision = precision_from_string(tuning.key.precision);
  if (!precision || std::ranges::find(allowed, *precision) == allowed.end()) return false;
  if (policy.is_auto() && (!tuning.winner_rel_err || *tuning.winner_rel_err > policy.tolerance))
    return false;
  cache::TuningKey same_place = here;
  same_place.signature = tuning.key.signature;
  same_place.precision = tuning.key.precision;
  return same_place == tuning.key;
}

std::optional<Neighbour> as_neighbour(const cache::LayeredTuning& layered, const Spec& spec,
                                      const std::string& chain, const DeviceInfo& device) {
  const cache::TuningRecord& tuning = layered.record;
  try {
    Spec tuned = parse_spec(tuning.spec);
    if (chain_signature(tuned) != chain) return std::nullopt;
    // Checked as the generator checks its own for the shape it won, before its tiles are measured.
    KernelConfig config = validated_config(tuned, device.limits, tuning.winner_config_json).config;
    const double distance = shape_distance(tuned.main, spec.main, config, device.sm_count);
    return Neighbour{std::move(tuned), std::move(config), *tuning.winner_time_ms, distance,
                     layered.layer};
  } catch (const Error&) {  // stored by another version, or refused: not a neighbour
    return std::nullopt;
  }
}

}  // namespace

std::optional<NearestTuned> nearest_tuned(const Spec& spec, const PrecisionPolicy& policy,
                                          const DeviceInfo& device,
                                          const std::vector<cache::LayeredTuning>& tunings) {
  const std::string chain = chain_signature(spec);
  const cache::TuningKey here =
      tuning_key(spec, "", device.name, device.arch(), device.sm_count);  // computed once
  const std::vector<Precision> allowed = policy.precisions();
  std::optional<Neighbour> best;
  for (const cache::LayeredTuning& layered : tunings) {
    const cache::TuningRecord& tuning = layered.record;
    if (!usable(tuning, here, policy, allowed)) continue;
    std::optional<Neighbour> n = as_neighbour(layered, spec, chain, device);
    // The nearest; for one neighbour tuned at several precisions, the fastest of them.
    if (n && (!best || n->distance < best->distance ||
              (n->distance == best->distance && n->time_ms < best->time_ms)))
      best = std::move(n);
  }
  if (!best) return std::nullopt;
  std::optional<Candidate> candidate = borrow_config(spec, device.limits, best->config);
  if (!candidate) return std::nullopt;
  return NearestTuned{std::move(*candidate), best->spec.canonical(), best->distance, best->layer};
}

}  // namespace fusetune
