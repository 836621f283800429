#include "tests/templates/candidate_check.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>
#include <set>

#include "runtime/cuda_check.h"
#include "runtime/loaded_kernel.h"
#include "tuner/parallel_compiler.h"
#include "tuner/problem_data.h"

namespace fusetune {

std::vector<std::string> tunable_values(const KernelConfig& config) {
  if (const auto* c = std::get_if<GemmSimtConfig>(&config))
    return {"warps=" + std::to_string(c->warps_m) + "x" + std::to_string(c->warps_n),
            "lanes=" + std::to_string(c->lanes_m) + "x" + std::to_string(c->lanes_n),
            "rep_m=" + std::to_string(c->rep_m),
            "rep_n=" + std::to_string(c->rep_n),
            "bk=" + std::to_string(c->bk) + "/" + std::to_string(c->stages),
            "order=" + std::to_string(c->lane_n_fastest),
            "spread=" + std::to_string(c->spread_fill),
            "occupancy=" + std::to_string(c->min_blocks),
            "splits=" + std::to_string(c->splits)};
  if (const auto* c = std::get_if<GemvSimtConfig>(&config))
    return {
        "gemv_layout=" + std::to_string(c->layout == GemvLayout::rows),
        "gemv_block_m=" + std::to_string(c->block_m),
        "gemv_warps=" + std::to_string(c->warps),
        "gemv_rows=" + std::to_string(c->rows_per_warp) + "/" + std::to_string(c->column_threads),
        "gemv_unroll=" + std::to_string(c->unroll),
        "gemv_vec=" + std::to_string(c->vec),
        "gemv_splits=" + std::to_string(c->splits)};
  if (const auto* c = std::get_if<ConvSimtConfig>(&config)) {
    auto triple = [](const std::array<int, 3>& v) {
      return std::to_string(v[0]) + "x" + std::to_string(v[1]) + "x" + std::to_string(v[2]);
    };
    return {"co_block=" + std::to_string(c->co_block), "co_thread=" + std::to_string(c->co_thread),
            "threads=" + triple(c->threads), "cells=" + triple(c->cells),
            "ci_chunk=" + std::to_string(c->ci_chunk)};
  }
  if (const auto* c = std::get_if<ConvMmaConfig>(&config))
    return {"conv_warps=" + std::to_string(c->warps_m) + "x" + std::to_string(c->warps_n),
            "conv_tiles_m=" + std::to_string(c->mma_tiles_m),
            "conv_tiles_n=" + std::to_string(c->mma_tiles_n), "conv_bk=" + std::to_string(c->bk),
            "conv_stages=" + std::to_string(c->stages)};
  if (const auto* c = std::get_if<GemmWgmmaConfig>(&config))
    return {"wgmma_tile=" + std::to_string(c->block_m) + "x" + std::to_string(c->block_n) + "/" +
                std::to_string(c->consumers),
            "wgmma_stages=" + std::to_string(c->stages),
            "wgmma_splits=" + std::to_string(c->splits),
            "wgmma_cluster=" + std::to_string(c->cluster),
            "wgmma_tma_store=" + std::to_string(c->tma_store),
            "wgmma_dtype=" + std::string(to_string(c->dtype))};
  const auto& c = std::get<GemmMmaConfig>(config);
  return {"warps=" + std::to_string(c.warps_m) + "x" + std::to_string(c.warps_n),
          "tiles_m=" + std::to_string(c.mma_tiles_m), "tiles_n=" + std::to_string(c.mma_tiles_n),
          "bk=" + std::to_string(c.bk) + "/" + std::to_string(c.stages)};
}

std::vector<Candidate> covering_subset(const std::vector<Candidate>& space) {
  std::set<std::string> uncovered;
  for (const Candidate& c : space)
    for (const std::string& v : tunable_values(c.config)) uncovered.insert(v);
  std::vector<Candidate> chosen;
  while (!uncovered.empty()) {
    const Candidate* best = nullptr;
    std::size_t best_gain = 0;
    for (const Candidate& c : space) {
      std::size_t gain = 0;
      for (const std::string& v : tunable_values(c.config)) gain += uncovered.count(v);
      if (gain > best_gain) best = &c, best_gain = gain;
    }
    for (const std::string& v : tunable_values(best->config)) uncovered.erase(v);
    chosen.push_back(*best);
  }
  return chosen;
}

void expect_candidates_match_reference(const Spec& spec, Precision precision,
                                       const std::vector<Candidate>& candidates,
                                       const DeviceInfo& device) {
  ASSERT_FALSE(candidates.empty());
  std::vector<KernelSource> sources;
  for (const Candidate& c : candidates) sources.push_back(generate(spec, c.config));
  ParallelCompiler compiler(sources, device.arch(), 16);
  std::map<std::size_t, CompiledBinary> binaries;
  while (auto output = compiler.next()) {
    ASSERT_TRUE(output->binary) << sources[output->index].name << ":\n" << output->error;
    binaries.emplace(output->index, std::move(*output->binary));
  }

  cudaStream_t stream = nullptr;
  check_cuda(cudaStreamCreate(&stream), "creating a stream");
  ProblemData data(spec, std::random_device{}(), stream);
  for (std::size_t i = 0; i < sources.size(); ++i) {
    SCOPED_TRACE(sources[i].name);
    const LoadedKernel kernel(binaries.at(i).cubin, sources[i].name, sources[i].launch,
                              sources[i].finishing);
    // Twice: a launch must leave what it keeps between launches (split-K's counters) ready.
    for (int launch = 0; launch < 2; ++launch) {
      SCOPED_TRACE("launch " + std::to_string(launch + 1));
      data.poison_output();
      ASSERT_EQ(kernel.launch(stream, data.launch_args()), cudaSuccess);
      ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
      const Verification v = data.verify();
      EXPECT_EQ(v.non_finite, 0) << "outputs left unwritten or NaN";
      EXPECT_LE(v.rel_err, default_tolerance(precision, spec.main.output_dtype()));
    }
  }
  cudaStreamDestroy(stream);
}

}  // namespace fusetune
