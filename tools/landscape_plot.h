// The picture `fusetune cache plot` writes: a tuning's landscape (tools/landscape.h) as an SVG
// document a browser opens.
#pragma once

#include <optional>
#include <string>

#include "tools/landscape.h"

namespace fusetune::cli {

// What the picture's heading says of the tuning.
struct PlotHeading {
  std::string spec;
  std::string precision;
  std::string device;  // "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)"
  std::string winner;  // its procedural name, or "" where the tuning has none
  std::optional<double> winner_ms;
  std::string updated_at;
  std::string database;
};

// The SVG document of `landscape`: one panel per tunable, costliest first, each candidate's time
// against the tunable's value; the winner, candidates screened out, candidates over tolerance and
// failures drawn apart; each mark's tooltip names its candidate.
std::string landscape_svg(const Landscape& landscape, const PlotHeading& heading);

}  // namespace fusetune::cli
