#include "generator/conv_simt_config.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <regex>

namespace fusetune {
namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

}  // namespace

std::array<CellAxis, 3> conv_cells(const Spec& spec) {
  const MainOp& main = spec.main;
  const std::array<std::int64_t, 3> out = main.conv_output_size();
  std::array<CellAxis, 3> axes;
  for (int a = 0; a < 3; ++a) {
    CellAxis& axis = axes[a];
    if (spec.first_pool() && spec.first_pool()->kind != PoolKind::global_avg) {
      const PoolOp& pool = *spec.first_pool();
      axis = {pool.kernel[a], pool.stride[a], pool.padding[a],
              (out[a] + 2 * pool.padding[a] - pool.kernel[a]) / pool.stride[a] + 1};
    } else if (main.is_transposed_conv()) {
      const int stride = main.conv.stride[a];
      axis = {stride, stride, 0, ceil_div(out[a], stride)};
    } else {
      axis = {1, 1, 0, out[a]};
    }
  }
  return axes;
}

std::string config_name(const MainOp&, const ConvSimtConfig& c) {
  return fmt::format("ft_conv_simt_co{}x{}_t{}x{}x{}_c{}x{}x{}_ci{}", c.co_block, c.co_thread,
                     c.threads[0], c.threads[1], c.threads[2], c.cells[0], c.cells[1], c.cells[2],
                     c.ci_chunk);
}

std::optional<ConvSimtConfig> parse_conv_simt_name(std::string_view name, std::string* why) {
  static const std::regex pattern(
      R"(ft_conv_simt_co(\d{1,3})x(\d{1,3})_t(\d{1,3})x(\d{1,3})x(\d{1,3}))"
      R"(_c(\d{1,2})x(\d{1,2})x(\d{1,2})_ci(\d{1,4}))");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(name.begin(), name.end(), match, pattern)) {
    if (why)
      *why =
          "it is not of the form ft_conv_simt_co<CO_BLOCK>x<CO_THREAD>_t<D>x<H>x<W>_c<D>x<H>x<W>"
          "_ci<CI_CHUNK>";
    return std::nullopt;
  }
  auto number = [&](int group) { return std::stoi(match[group].str()); };
  ConvSimtConfig c;
  c.co_block = number(1);
  c.co_thread = number(2);
  c.threads = {number(3), number(4), number(5)};
  c.cells = {number(6), number(7), number(8)};
  c.ci_chunk = number(9);
  if (c.co_thread == 0 || c.co_block % c.co_thread != 0 || c.co_thread % 4 != 0) {
    if (why) *why = "CO_THREAD is a multiple of 4 that divides CO_BLOCK";
    return std::nullopt;
  }
  for (int a = 0; a < 3; ++a) {
    if (c.threads[a] == 0 || c.cells[a] == 0) {
      if (why) *why = "every axis has at least one thread and one cell per thread";
      return std::nullopt;
    }
  }
  return c;
}

nlohmann::json to_json(const ConvSimtConfig& c) {
  return {{"family", "conv_simt"}, {"co_block", c.co_block}, {"co_thread", c.co_thread},
          {"threads", c.threads},  {"cells", c.cells},       {"ci_chunk", c.ci_chunk}};
}

ConvSimtConfig conv_simt_from_json(const nlohmann::json& json) {
  ConvSimtConfig c;
  c.co_block = json.at("co_block");
  c.co_thread = json.at("co_thread");
  c.threads = json.at("threads");
  c.cells = json.at("cells");
  c.ci_chunk = json.at("ci_chunk");
  return c;
}

int conv_simt_smem_bytes(const MainOp& main, const ConvSimtConfig& c) {
  return static_cast<int>(c.ci_chunk * main.conv.taps() * c.co_block * 4);
}

std::int64_t conv_simt_block_count(const Spec& spec, const ConvSimtConfig& c) {
  const std::array<CellAxis, 3> cells = conv_cells(spec);
  const ConvGeometry& g = spec.main.conv;
  std::int64_t blocks = g.batch * g.groups * ceil_div(g.out_channels / g.groups, c.co_block);
  for (int a = 0; a < 3; ++a) blocks *= ceil_div(cells[a].count, c.threads[a] * c.cells[a]);
  return blocks;
}

std::uint64_t conv_simt_workspace_bytes(const Spec& spec, const ConvSimtConfig& c) {
  if (!spec.first_pool() || spec.first_pool()->kind != PoolKind::global_avg) return 0;
  const ConvGeometry& g = spec.main.conv;
  const std::int64_t tiles = g.batch * g.groups * ceil_div(g.out_channels / g.groups, c.co_block);
  const std::int64_t splits = conv_simt_block_count(spec, c) / tiles;
  // Each split's float4 per thread, then one counter per tile.
  return static_cast<std::uint64_t>(tiles * splits * c.block_threads() * 16 + tiles * 4);
}

LaunchGeometry conv_simt_launch(const Spec& spec, const ConvSimtConfig& c) {
  LaunchGeometry launch;
  launch.workspace_bytes = conv_simt_workspace_bytes(spec, c);
  launch.grid = {static_cast<unsigned>(conv_simt_block_count(spec, c)), 1, 1};
  launch.block = {static_cast<unsigned>(c.block_threads()), 1, 1};
  launch.dynamic_smem_bytes = static_cast<unsigned>(conv_simt_smem_bytes(spec.main, c));
  return launch;
}

}  // namespace fusetune
