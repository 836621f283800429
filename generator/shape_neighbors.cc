#include "generator/shape_neighbors.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace fusetune {
namespace {

// A GEMM's extents, or a convolution's as the implicit GEMM it is: rows = output positions of
// every image, columns = output channels, depth = the taps of one group's input channels.
std::array<double, 3> gemm_extents(const MainOp& main) {
  if (!main.is_conv())
    return {static_cast<double>(main.m), static_cast<double>(main.n), static_cast<double>(main.k)};
  const ConvGeometry& c = main.conv;
  const std::array<std::int64_t, 3> out = main.conv_output_size();
  return {static_cast<double>(c.batch * out[0] * out[1] * out[2]),
          static_cast<double>(c.out_channels),
          static_cast<double>(c.in_channels / c.groups * c.taps())};
}

struct TileView {
  double tiles;       // block tiles
  double wave_fill;   // the share of the last wave's SM slots that have a tile
  double edge_waste;  // the share of the tiles' area outside the output
};

TileView tile_view(const std::array<double, 3>& extents, const std::array<int, 2>& tile,
                   int sm_count) {
  const double rows = std::ceil(extents[0] / tile[0]), columns = std::ceil(extents[1] / tile[1]);
  const double tiles = rows * columns;
  const double slots = std::ceil(tiles / sm_count) * sm_count;
  return {tiles, tiles / slots, 1 - extents[0] * extents[1] / (rows * tile[0] * columns * tile[1])};
}

double log_ratio(double a, double b) {
  return std::abs(std::log2(std::max(a, 1.0) / std::max(b, 1.0)));
}

}  // namespace

std::string chain_signature(const Spec& spec) {
  Spec shapeless = spec;
  MainOp& main = shapeless.main;
  main.m = main.n = main.k = 0;
  main.conv.batch = main.conv.in_channels = main.conv.out_channels = 0;
  main.conv.size = {0, 0, 0};
  return shapeless.signature();
}

double shape_distance(const MainOp& tuned, const MainOp& wanted, const KernelConfig& config,
                      int sm_count) {
  const std::array<double, 3> a = gemm_extents(tuned), b = gemm_extents(wanted);
  // Depth changes the work per tile but not its layout: it counts half.
  const double depth = 0.5 * log_ratio(a[2], b[2]);
  const std::optional<std::array<int, 2>> tile = block_tile(config);
  if (!tile) return log_ratio(a[0], b[0]) + log_ratio(a[1], b[1]) + depth;
  const TileView x = tile_view(a, *tile, std::max(sm_count, 1));
  const TileView y = tile_view(b, *tile, std::max(sm_count, 1));
  return log_ratio(x.tiles, y.tiles) + 2 * std::abs(x.wave_fill - y.wave_fill) +
         2 * std::abs(x.edge_waste - y.edge_waste) + depth;
}

std::optional<Candidate> borrow_config(const Spec& spec, const DeviceLimits& limits,
                                       const KernelConfig& config) {
  const std::vector<Candidate> space = search_space(spec, limits, precision_of(config));
  const nlohmann::json wanted = nlohmann::json::parse(config_json(config));
  const Candidate* best = nullptr;
  int best_shared = -1;
  for (const Candidate& candidate : space) {  // best predicted first: the first of equals stays
    const nlohmann::json settings = nlohmann::json::parse(config_json(candidate.config));
    if (settings == wanted) return candidate;
    int shared = 0;
    for (const auto& [name, value] : wanted.items())
      shared += settings.contains(name) && settings[name] == value ? 1 : 0;
    if (shared > best_shared) best = &candidate, best_shared = shared;
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

}  // namespace fusetune
