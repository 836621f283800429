// Warpgroup-MMA configurations of the tensor-core convolution family (conv_mma.cuh's WGMMA) for
// a spec, for the tests that compile and run them: both k-loops (WGMMA 1 and 2), the default
// configuration's weight copies, 4 or 8 warps along M, 8, 64 or 128 channels, 2 or 3 stages;
// those the family's rules refuse left out.
#pragma once

#include <variant>
#include <vector>

#include "generator/conv_mma.h"
#include "generator/generator.h"

namespace fusetune {

inline std::vector<Candidate> conv_wgmma_candidates(const Spec& spec, const DeviceLimits& limits,
                                                    Precision precision) {
  const ConvMmaConfig plain =
      std::get<ConvMmaConfig>(default_candidate(spec, limits, precision).config);
  std::vector<Candidate> candidates;
  for (int engine : {1, 2})
    for (int warps_m : {4, 8})
      for (int tiles_n : {1, 8, 16})
        for (int stages : {2, 3}) {
          ConvMmaConfig c = plain;
          c.warps_m = warps_m;
          c.warps_n = 1;
          c.mma_tiles_m = 1;
          c.mma_tiles_n = tiles_n;
          c.bk = 32;
          c.stages = stages;
          c.wgmma = engine;
          if (conv_mma_rejection(spec, limits, c)) continue;
          candidates.push_back({c, config_name(spec.main, c)});
        }
  return candidates;
}

}  // namespace fusetune
