// The configuration a spec never tuned borrows: the winner of the nearest tuned shape of the
// same op chain on this GPU (generator/shape_neighbors.h), at a precision the policy allows.
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

struct NearestTuned {
  Candidate candidate;                      // the neighbour's winner as it runs `spec`
  std::string neighbour;                    // the neighbour's canonical spec
  double distance = 0;                      // shape_distance from the neighbour
  cache::Layer layer = cache::Layer::user;  // the database its tuning is in
};

// Searches `tunings` (Layers::tunings(): the user's and the system's alike) for those made on
// `device` with this build (same NVRTC and generator) at one of `policy`'s precisions (under
// auto, only winners measured within its tolerance). Empty when no shape of the chain is tuned.
// Tunings whose spec this build no longer reads, or whose configuration validated_config refuses
// for their own spec on `device`, are passed over.
std::optional<NearestTuned> nearest_tuned(const Spec& spec, const PrecisionPolicy& policy,
                                          const DeviceInfo& device,
                                          const std::vector<cache::LayeredTuning>& tunings);

}  // namespace fusetune
