// Which configuration serves a spec on this GPU: the tuned winner the precision policy picks (the
// user database's, else the system one's), else the winner of a tuned bucket whose range holds
// the spec's row count (its kernel, compiled once for the range, takes the rows at launch), else
// for a training forward (a spec with save) its plain forward's winner, else the winner of the
// nearest tuned shape of the same op chain, else the family default. A stored
// configuration serves only once validated_config (generator.h) accepts it for the spec and GPU:
// one the generator refuses (a damaged database, a forged import) is passed over with a warning,
// and the spec is served as if untuned.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cache/layers.h"
#include "generator/generator.h"
#include "generator/precision_policy.h"
#include "generator/spec.h"
#include "runtime/device.h"

namespace fusetune {

struct ServedConfig {
  Candidate candidate;
  std::optional<cache::LayeredTuning> tuning;  // whose winner it is; empty when served untuned
  // The tuned bucket (m=lo..hi) whose winner serves the spec: generate() its kernel from this
  // spec, and launch it with the spec's rows. Empty: the kernel is the spec's own.
  std::optional<Spec> bucket;
  std::string neighbour;  // untuned: the nearest tuned shape whose winner it borrows; or empty
  cache::Layer neighbour_layer = cache::Layer::user;  // the database the neighbour's tuning is in
  std::vector<std::string> warnings;                  // for the caller to pass on
};

// The configuration that serves `spec` under `policy` on `device`, from `layers`. Throws
// fusetune::Error where no kernel can run the spec.
ServedConfig served_config(const Spec& spec, const PrecisionPolicy& policy,
                           const DeviceInfo& device, cache::Layers& layers);

}  // namespace fusetune
