#include "tests/templates/candidate_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "runtime/cuda_check.h"
#include "runtime/loaded_kernel.h"
#include "tuner/parallel_compiler.h"
#include "tuner/problem_data.h"

namespace fusetune {

std::vector<Candidate> covering_subset(const std::vector<Candidate>& space) {
  std::set<std::string> uncovered;
  for (const Candidate& c : space)
    for (const std::string& v : tunable_settings(c.config)) uncovered.insert(v);
  std::vector<Candidate> chosen;
  while (!uncovered.empty()) {
    const Candidate* best = nullptr;
    std::size_t best_gain = 0;
    for (const Candidate& c : space) {
      std::size_t gain = 0;
      for (const std::string& v : tunable_settings(c.config)) gain += uncovered.count(v);
      if (gain > best_gain) best = &c, best_gain = gain;
    }
    for (const std::string& v : tunable_settings(best->config)) uncovered.erase(v);
    chosen.push_back(*best);
  }
  return chosen;
}

std::map<std::size_t, CompiledBinary> compile_all(const std::vector<KernelSource>& sources,
                                                  const std::string& arch) {
  ParallelCompiler compiler(sources, arch, 16);
  std::map<std::size_t, CompiledBinary> binaries;
  while (auto output = compiler.next()) {
    EXPECT_TRUE(output->binary) << sources[output->index].name << ":\n" << output->error;
    if (output->binary) binaries.emplace(output->index, std::move(*output->binary));
  }
  return binaries;
}

void expect_candidates_match_reference(const Spec& spec, Precision precision,
                                       const std::vector<Candidate>& candidates,
                                       const DeviceInfo& device) {
  ASSERT_FALSE(candidates.empty());
  std::vector<KernelSource> sources;
  for (const Candidate& c : candidates) sources.push_back(generate(spec, c.config));
  const std::map<std::size_t, CompiledBinary> binaries = compile_all(sources, device.arch());
  if (binaries.size() != sources.size()) return;  // compile_all said which failed

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

double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    diff = std::max(diff, std::fabs(got[i] - want[i]));
    scale = std::max(scale, std::fabs(want[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

double frobenius_error(const std::vector<float>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double error = 0, magnitude = 0;
  for (std::size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    error += (got[i] - want[i]) * (got[i] - want[i]);
    magnitude += want[i] * want[i];
  }
  return magnitude > 0 ? std::sqrt(error / magnitude) : std::sqrt(error);
}

}  // namespace fusetune
