// The SIMT GEMM family's part of the fp32 search space (beside it, for M <= 16, the
// matrix-vector family), with configurations typed as GemmSimtConfig, for tests of that family.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "generator/generator.h"

namespace fusetune {

struct SimtCandidate {
  GemmSimtConfig config;
  std::string name;
};

inline std::vector<SimtCandidate> simt_space(const Spec& spec, const DeviceLimits& limits) {
  std::vector<SimtCandidate> space;
  for (const Candidate& c : search_space(spec, limits, Precision::fp32))
    if (const auto* config = std::get_if<GemmSimtConfig>(&c.config))
      space.push_back({*config, c.name});
  return space;
}

inline SimtCandidate simt_default(const Spec& spec, const DeviceLimits& limits) {
  const Candidate c = default_candidate(spec, limits, Precision::fp32);
  return {std::get<GemmSimtConfig>(c.config), c.name};
}

}  // namespace fusetune
