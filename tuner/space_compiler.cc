#include "tuner/space_compiler.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "fusetune/status.h"
#include "runtime/binary_store.h"
#include "tuner/parallel_compiler.h"

namespace fusetune {

std::vector<PreparedCandidate> prepare_space(const Spec& spec, const DeviceLimits& limits,
                                             Precision precision, std::size_t max_candidates,
                                             const std::string& arch, cache::Database& db,
                                             const std::set<std::string>& skip) {
  std::vector<Candidate> space = search_space(spec, limits, precision);
  if (space.empty()) {
    // A sweep of nothing would fail with no reason given: the default's rules say why (a 16-bit
    // odd K), and where they have no reason, the space is still empty.
    default_candidate(spec, limits, precision);
    throw Error(StatusCode::invalid_argument,
                fmt::format("every configuration of the kernel families is ruled out for '{}' "
                            "at precision {} on {}",
                            spec.canonical(), to_string(precision), limits.arch));
  }
  std::vector<PreparedCandidate> prepared;
  for (Candidate& candidate : best_predicted(std::move(space), max_candidates)) {
    if (skip.count(candidate.name)) continue;
    KernelSource source = generate(spec, candidate.config);
    std::string key = binary_key(source, arch);
    std::optional<CompiledBinary> binary = find_binary(db, key);
    prepared.push_back(
        {std::move(candidate), std::move(source), std::move(key), std::move(binary)});
  }
  return prepared;
}

void compile_space(std::vector<PreparedCandidate>& prepared, const std::string& arch, int threads,
                   cache::Database& db, const CompiledCallback& consume) {
  std::vector<KernelSource> to_compile;
  std::vector<std::size_t> compile_index;
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    if (prepared[i].binary) continue;
    to_compile.push_back(prepared[i].source);
    compile_index.push_back(i);
  }
  // Compiling starts now and goes on while the cached candidates are consumed.
  ParallelCompiler compiler(std::move(to_compile), arch, threads);
  for (const PreparedCandidate& p : prepared)
    if (p.binary) consume(p, std::string());
  while (std::optional<CompileOutput> output = compiler.next()) {
    PreparedCandidate& p = prepared[compile_index[output->index]];
    p.binary = std::move(output->binary);
    if (p.binary) store_binary(db, p.binary_key, *p.binary);
    consume(p, output->error);
  }
}

int count_with_binary(const std::vector<PreparedCandidate>& prepared) {
  return static_cast<int>(
      std::count_if(prepared.begin(), prepared.end(),
                    [](const PreparedCandidate& p) { return p.binary.has_value(); }));
}

CandidateResult result_of(const PreparedCandidate& p) {
  CandidateResult r;
  r.name = p.candidate.name;
  r.config = p.candidate.config;
  if (p.binary) {
    r.registers = p.binary->registers;
    r.spill_bytes = p.binary->spill_bytes;
    r.smem_bytes =
        p.binary->static_smem_bytes + static_cast<int>(p.source.launch.dynamic_smem_bytes);
  }
  return r;
}

std::optional<std::string> exceeds_device(const CandidateResult& r, const KernelSource& source,
                                          const DeviceLimits& limits) {
  const long long threads = static_cast<long long>(source.launch.block[0]) *
                            source.launch.block[1] * source.launch.block[2];
  if (r.registers > 0 && r.registers * threads > limits.regs_per_sm)
    return fmt::format("{} registers x {} threads exceed the {} registers of an SM", r.registers,
                       threads, limits.regs_per_sm);
  if (r.smem_bytes > limits.max_smem_per_block)
    return fmt::format("{} bytes of shared memory exceed the {} a block may have", r.smem_bytes,
                       limits.max_smem_per_block);
  return std::nullopt;
}

}  // namespace fusetune
