#include "runtime/served_config.h"

#include <fmt/format.h>

#include <algorithm>

#include "fusetune/status.h"
#include "generator/ops.h"
#include "generator/row_buckets.h"
#include "generator/shape_neighbors.h"
#include "runtime/nearest_tuned.h"
#include "runtime/tuning_key.h"

namespace fusetune {
namespace {

struct TunedWinner {
  cache::LayeredTuning tuning;
  Candidate candidate;
};

// The stored winner of `found` as validated_config reads it for `spec` on `device`; empty, with a
// warning, when the generator refuses it: whatever a database holds, no configuration reaches
// generate() unchecked.
std::optional<TunedWinner> checked(const Spec& spec, const DeviceInfo& device,
                                   cache::Layers& layers, cache::LayeredTuning found,
                                   std::vector<std::string>& warnings) {
  try {
    Candidate candidate = validated_config(spec, device.limits, found.record.winner_config_json);
    return TunedWinner{std::move(found), std::move(candidate)};
  } catch (const Error& e) {
    const std::string& precision = found.record.key.precision;
    const cache::Database& db =
        found.layer == cache::Layer::user ? layers.user() : *layers.system();
    warnings.push_back(
        fmt::format("{} (in {}, precision {}). '{}' is served as if untuned; `fusetune tune \"{}\" "
                    "--precision {} --force` tunes it again",
                    e.what(), db.path(), precision, spec.canonical(), spec.canonical(), precision));
    return std::nullopt;
  }
}

// The tuned winner the policy picks: the named precision's, or under auto the fastest whose
// measured error is within the tolerance. Each precision's tuning is the user's, else the system
// layer's.
std::optional<TunedWinner> find_winner(const Spec& spec, const PrecisionPolicy& policy,
                                       const DeviceInfo& device, cache::Layers& layers,
                                       std::vector<std::string>& warnings) {
  std::vector<TunedWinner> tuned;
  std::vector<PrecisionWinner> winners;
  for (Precision p : policy.precisions()) {
    const cache::TuningKey key =
        tuning_key(spec, std::string(to_string(p)), device.name, device.arch(), device.sm_count);
    std::optional<cache::LayeredTuning> found = layers.find_winner(key);
    if (!found) continue;
    std::optional<TunedWinner> winner = checked(spec, device, layers, std::move(*found), warnings);
    if (!winner) continue;
    if (!policy.is_auto()) return winner;
    const cache::TuningRecord& tuning = winner->tuning.record;
    if (!tuning.winner_time_ms || !tuning.winner_rel_err) continue;
    winners.push_back({p, *tuning.winner_time_ms, *tuning.winner_rel_err});
    tuned.push_back(std::move(*winner));
  }
  const std::optional<std::size_t> chosen = choose_fastest_within(winners, policy.tolerance);
  if (!chosen) return std::nullopt;
  return std::move(tuned[*chosen]);
}

// Without a tuned winner, auto runs the most accurate precision it may use: the one sure to stay
// within the tolerance, unmeasured as it is (among those with a kernel for the spec: a pooled
// convolution has none at 3xTF32).
Precision untuned_precision(const Spec& spec, const PrecisionPolicy& policy) {
  std::vector<Precision> eligible = policy.precisions();
  std::erase_if(eligible, [&](Precision p) { return missing_family(spec, p).has_value(); });
  if (eligible.empty()) eligible = policy.precisions();  // default_candidate then says why
  return *std::ranges::min_element(eligible, [&](Precision a, Precision b) {
    return expected_error(a, policy.output) < expected_error(b, policy.output);
  });
}

// `spec` without its save ops, where it has any.
std::optional<Spec> without_save(const Spec& spec) {
  Spec plain = spec;
  std::erase_if(plain.chain, [](const ChainOp& op) {
    const auto* e = std::get_if<EpilogueOp>(&op);
    return e != nullptr && info_of(*e).writes_operand;
  });
  if (plain.chain.size() == spec.chain.size()) return std::nullopt;
  return plain;
}

}  // namespace

ServedConfig served_config(const Spec& spec, const PrecisionPolicy& policy,
                           const DeviceInfo& device, cache::Layers& layers) {
  ServedConfig served;
  if (std::optional<TunedWinner> winner =
          find_winner(spec, policy, device, layers, served.warnings)) {
    served.tuning = std::move(winner->tuning);
    served.candidate = std::move(winner->candidate);
    return served;
  }
  const std::vector<cache::LayeredTuning> tunings = layers.tunings();
  std::vector<std::string> tuned_specs;
  for (const cache::LayeredTuning& t : tunings) tuned_specs.push_back(t.record.spec);
  for (Spec& bucket : buckets_serving(spec, tuned_specs)) {
    if (std::optional<TunedWinner> winner =
            find_winner(bucket, policy, device, layers, served.warnings)) {
      served.tuning = std::move(winner->tuning);
      served.candidate = std::move(winner->candidate);
      served.bucket = std::move(bucket);
      return served;
    }
  }
  // A training forward (the spec with save) runs the configuration its plain forward won, which
  // save (a store per element in the epilogue) leaves valid; borrow_config checks it for the
  // saving spec all the same.
  if (std::optional<Spec> plain = without_save(spec))
    if (std::optional<TunedWinner> winner =
            find_winner(*plain, policy, device, layers, served.warnings))
      if (std::optional<Candidate> candidate =
              borrow_config(spec, device.limits, winner->candidate.config)) {
        served.candidate = std::move(*candidate);
        served.neighbour = plain->canonical();
        served.neighbour_layer = winner->tuning.layer;
        return served;
      }
  if (std::optional<NearestTuned> nearest = nearest_tuned(spec, policy, device, tunings)) {
    served.candidate = std::move(nearest->candidate);
    served.neighbour = std::move(nearest->neighbour);
    served.neighbour_layer = nearest->layer;
    return served;
  }
  served.candidate = default_candidate(spec, device.limits, untuned_precision(spec, policy));
  return served;
}

}  // namespace fusetune
