// Every candidate of the seed's search space compiles for each target arch, and a second
// compile-only sweep finds every cubin in the database. Slow (the whole space, twice over), so it
// is a program of its own: `ctest -E compile_space` skips it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "cache/database.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "runtime/nvrtc.h"
#include "tests/tuner/outcome_printer.h"
#include "tuner/parallel_compiler.h"
#include "tuner/tune.h"

namespace fusetune {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSeed =
    "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";

// The convolution seed and KernelBench's convolution problems, and global average pooling.
const char* const kConvSpecs[] = {
    "conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, "
    "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
    "max_pool3d(2)",
    "conv2d(n=128, c=64, h=128, w=128, k=128, kernel=3) -> bias -> relu -> add(channel)",
    "conv_transpose3d(n=16, c=32, d=16, h=32, w=32, k=64, kernel=3, stride=2, padding=1, "
    "output_padding=1) -> bias -> add(channel) -> add(main) -> mul(main) -> add(main)",
    "conv2d(n=128, c=8, h=128, w=128, k=64, kernel=3) -> relu -> global_avg_pool -> mul(2.0)",
};

// The seed with inputs of the type `precision` multiplies (dtype=bf16 for bf16).
Spec seed_for(Precision precision) {
  const DataType inputs = input_type(precision);
  if (inputs == DataType::fp32) return parse_spec(kSeed);
  return parse_spec(
      fmt::format("linear(m=1024, n=8192, k=8192, dtype={}) -> bias -> mul(2.0) -> leaky_relu(0.1)",
                  to_string(inputs)));
}

// A test with a fresh temporary folder for its database.
template <class Param>
class WithTemporaryFolder : public testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "fusetune-compile-space-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

class CompileSpace : public WithTemporaryFolder<std::tuple<std::string, Precision>> {};

TEST_P(CompileSpace, EverySeedCandidateCompilesAndIsFoundCompiledTheSecondTime) {
  const auto& [arch, precision] = GetParam();
  const Spec spec = seed_for(precision);
  const std::size_t space_size =
      search_space(spec, DeviceLimits::for_arch(arch).value(), precision).size();
  const std::unique_ptr<cache::Database> db = cache::Database::open((dir_ / "tuning.db").string());
  TuneOptions options;
  options.compile_only = true;
  options.arch = arch;
  options.precision = precision;

  const std::uint64_t compiles_before = nvrtc_compile_count();
  const auto first_start = std::chrono::steady_clock::now();
  const TuneReport first = tune(spec, *db, options);
  const double first_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - first_start).count();

  EXPECT_TRUE(first.compile_only);
  EXPECT_EQ(first.arch, arch);
  EXPECT_FALSE(first.winner) << "a compile-only sweep times nothing";
  EXPECT_EQ(first.candidates, static_cast<int>(space_size));
  EXPECT_EQ(first.compiled, first.candidates);
  EXPECT_TRUE(first.failed.empty()) << first.failed.size() << " kinds of failure";
  EXPECT_EQ(nvrtc_compile_count() - compiles_before, space_size);
  int spilling = 0, most_spilled = 0, most_registers = 0;
  for (const CandidateResult& r : first.results) {
    EXPECT_EQ(r.outcome, Outcome::ok) << r.name << ": " << r.message;
    EXPECT_GT(r.registers, 0) << r.name;
    EXPECT_LE(r.registers, 255) << r.name;
    EXPECT_EQ(r.smem_bytes, static_cast<int>(generate(spec, r.config).launch.dynamic_smem_bytes))
        << r.name << " uses no static shared memory";
    if (r.spill_bytes > 0) ++spilling;
    most_spilled = std::max(most_spilled, r.spill_bytes);
    most_registers = std::max(most_registers, r.registers);
  }
  std::cout << arch << " " << to_string(precision) << ": " << first.candidates
            << " candidates compiled in " << first_s << " s; " << spilling << " spill (at most "
            << most_spilled << " bytes); at most " << most_registers << " registers\n";
  RecordProperty("candidates", first.candidates);
  RecordProperty("spilling", spilling);

  const std::uint64_t compiles_between = nvrtc_compile_count();
  const auto second_start = std::chrono::steady_clock::now();
  const TuneReport second = tune(spec, *db, options);
  const double second_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - second_start).count();
  std::cout << arch << ": the second sweep took " << second_s << " s\n";

  EXPECT_EQ(nvrtc_compile_count(), compiles_between) << "every cubin comes from the database";
  EXPECT_EQ(second.candidates, first.candidates);
  EXPECT_EQ(second.compiled, second.candidates);
  EXPECT_TRUE(second.failed.empty());
  EXPECT_LT(second_s, first_s / 10);
  ASSERT_EQ(second.results.size(), first.results.size());
  for (std::size_t i = 0; i < first.results.size(); ++i) {
    const auto same =
        std::find_if(second.results.begin(), second.results.end(),
                     [&](const CandidateResult& r) { return r.name == first.results[i].name; });
    ASSERT_NE(same, second.results.end()) << first.results[i].name;
    EXPECT_EQ(same->registers, first.results[i].registers) << same->name;
    EXPECT_EQ(same->spill_bytes, first.results[i].spill_bytes) << same->name;
    EXPECT_EQ(same->smem_bytes, first.results[i].smem_bytes) << same->name;
  }
}

INSTANTIATE_TEST_SUITE_P(ArchsAndPrecisions, CompileSpace,
                         testing::Combine(testing::Values("sm_80", "sm_90"),
                                          testing::Values(Precision::fp32, Precision::tf32,
                                                          Precision::tf32x3, Precision::bf16,
                                                          Precision::fp16)));

// Every candidate of the convolution problems compiles for each arch, within 255 registers and
// without spilling: the direct family at fp32, the tensor-core family at TF32 and 3xTF32.
class ConvCompileSpace
    : public WithTemporaryFolder<std::tuple<std::string, Precision, const char*>> {};

TEST_P(ConvCompileSpace, EveryConvolutionCandidateCompilesWithoutSpills) {
  const auto& [arch, precision, text] = GetParam();
  const Spec spec = parse_spec(text);
  const std::vector<Candidate> space =
      search_space(spec, DeviceLimits::for_arch(arch).value(), precision);
  const std::size_t space_size = space.size();
  ASSERT_GT(space_size, 0u);
  const auto on_warpgroup_mma = [](const std::string& name) {
    return name.find("_wg") != std::string::npos;
  };
  const std::unique_ptr<cache::Database> db = cache::Database::open((dir_ / "tuning.db").string());
  TuneOptions options;
  options.compile_only = true;
  options.arch = arch;
  options.precision = precision;
  // sm_90's tensor-core spaces alternate mma.sync's and warpgroup MMA's configurations
  // (conv_mma_space), each engine's best first: their first half holds both; the mma.sync
  // sources compile in full for sm_80. Kept to CI's time.
  const bool sampled = arch == "sm_90" && precision != Precision::fp32;
  options.max_candidates = sampled ? (space_size + 1) / 2 : 0;
  const TuneReport report = tune(spec, *db, options);
  EXPECT_EQ(report.candidates, static_cast<int>(sampled ? options.max_candidates : space_size));
  EXPECT_EQ(report.compiled, report.candidates);
  const std::string family = precision == Precision::fp32 ? "ft_conv_simt_" : "ft_conv_mma_";
  int most_registers = 0;
  for (const CandidateResult& r : report.results) {
    EXPECT_TRUE(r.name.starts_with(family)) << r.name;
    EXPECT_EQ(r.outcome, Outcome::ok) << r.name << ": " << r.message;
    EXPECT_GT(r.registers, 0) << r.name;
    EXPECT_LE(r.registers, 255) << r.name;
    EXPECT_EQ(r.spill_bytes, 0) << r.name << " spills";
    // Global average pooling adds a word of static shared memory (its arrival flag), which
    // ptxas reports as 16 bytes on sm_80 and sm_90; nothing else has any.
    const bool global_pool = spec.first_pool() && spec.first_pool()->kind == PoolKind::global_avg;
    EXPECT_EQ(r.smem_bytes, static_cast<int>(generate(spec, r.config).launch.dynamic_smem_bytes) +
                                (global_pool ? 16 : 0))
        << r.name;
    most_registers = std::max(most_registers, r.registers);
  }
  const int wgmma = static_cast<int>(std::ranges::count_if(
      report.results, [&](const CandidateResult& r) { return on_warpgroup_mma(r.name); }));
  if (std::ranges::any_of(space, [&](const Candidate& c) { return on_warpgroup_mma(c.name); })) {
    EXPECT_GT(wgmma, 0) << "the sample holds warpgroup-MMA configurations where the space does";
  }
  std::cout << arch << " " << to_string(precision) << " " << text << ": " << report.candidates
            << " candidates (" << wgmma << " on warpgroup MMA), at most " << most_registers
            << " registers\n";
}

INSTANTIATE_TEST_SUITE_P(Direct, ConvCompileSpace,
                         testing::Combine(testing::Values("sm_80", "sm_90"),
                                          testing::Values(Precision::fp32),
                                          testing::ValuesIn(kConvSpecs)));

INSTANTIATE_TEST_SUITE_P(
    TensorCores, ConvCompileSpace,
    testing::Combine(
        testing::Values("sm_80", "sm_90"), testing::Values(Precision::tf32, Precision::tf32x3),
        testing::Values(
            "conv2d(n=128, c=64, h=128, w=128, k=128, kernel=3) -> bias -> relu -> add(channel)",
            "conv3d(n=2, c=6, d=5, h=9, w=11, k=10, kernel=(3, 3, 2), stride=(1, 2, 1), "
            "padding=1, dilation=(2, 1, 2), groups=2) -> add(tensor) -> gelu")));

// The convolution seed on tensor cores: its output phases as a cell's elements, pooled in the
// epilogue (one arch and precision: the cells' code is the same at the others).
INSTANTIATE_TEST_SUITE_P(TensorCoreCells, ConvCompileSpace,
                         testing::Combine(testing::Values("sm_90"),
                                          testing::Values(Precision::tf32x3),
                                          testing::Values(kConvSpecs[0])));

// The matrix-vector family (fp32, M <= 16) is not in the seed's space: every candidate of a
// few small-M spaces (both layouts of B, x stored either way, odd shapes, split-K) compiles for
// each target arch, without spilling and with no static shared memory.
class GemvCompileSpace : public testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(GemvCompileSpace, EveryCandidateCompilesWithoutSpilling) {
  const auto& [arch, text] = GetParam();
  const Spec spec = parse_spec(text);
  std::vector<KernelSource> sources;
  for (const Candidate& c :
       search_space(spec, DeviceLimits::for_arch(arch).value(), Precision::fp32))
    if (std::holds_alternative<GemvSimtConfig>(c.config))
      sources.push_back(generate(spec, c.config));
  ASSERT_GE(sources.size(), 10u) << text;
  ParallelCompiler compiler(sources, arch, default_compile_threads());
  std::size_t compiled = 0;
  int most_registers = 0;
  while (std::optional<CompileOutput> output = compiler.next()) {
    const std::string& name = sources[output->index].name;
    ASSERT_TRUE(output->binary) << name << ":\n" << output->error;
    EXPECT_EQ(output->binary->spill_bytes, 0) << name;
    EXPECT_GT(output->binary->registers, 0) << name;
    EXPECT_LE(output->binary->registers, 255) << name;
    EXPECT_EQ(output->binary->static_smem_bytes, 0) << name;
    most_registers = std::max(most_registers, output->binary->registers);
    ++compiled;
  }
  EXPECT_EQ(compiled, sources.size());
  std::cout << arch << " " << text << ": " << compiled << " gemv candidates, at most "
            << most_registers << " registers\n";
}

INSTANTIATE_TEST_SUITE_P(
    ArchsAndSpecs, GemvCompileSpace,
    testing::Combine(
        testing::Values("sm_80", "sm_90"),
        testing::Values("linear(m=1, n=1024, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)",
                        "linear(m=1, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)",
                        "linear(m=16, n=4096, k=4096) -> bias -> mul(2.0) -> leaky_relu(0.1)",
                        "linear(m=3, n=999, k=77) -> add(tensor) -> mul(row) -> gelu(tanh)",
                        "linear(m=16, n=520, k=1030) -> bias -> relu",
                        "matmul(m=1, n=1024, k=4096) -> bias -> tanh",
                        "matmul(m=5, n=998, k=300, transpose_a=true) -> add(row) -> silu",
                        "matmul(m=16, n=257, k=64, transpose_a=true, transpose_b=true) -> "
                        "sigmoid")));

// The int8x family (sm_90a): half the seed's space, every other best predicted, and the odd
// shape's best, each compile without spilling, the slicing passes in the same module.
TEST(Int8xCompileSpace, ASampleOfTheSpaceCompilesWithoutSpilling) {
  const DeviceLimits limits = DeviceLimits::for_arch("sm_90").value();
  std::vector<KernelSource> sources;
  const Spec seed = parse_spec(kSeed);
  const std::vector<Candidate> space = search_space(seed, limits, Precision::int8x);
  ASSERT_GE(space.size(), 6u);
  for (std::size_t i = 0; i < space.size(); i += 4)
    sources.push_back(generate(seed, space[i].config));
  const Spec odd = parse_spec("linear(m=100, n=75, k=1001) -> bias -> relu");
  sources.push_back(generate(odd, default_candidate(odd, limits, Precision::int8x).config));
  ParallelCompiler compiler(sources, "sm_90", default_compile_threads());
  std::size_t compiled = 0;
  while (std::optional<CompileOutput> output = compiler.next()) {
    const std::string& name = sources[output->index].name;
    ASSERT_TRUE(output->binary) << name << ":\n" << output->error;
    EXPECT_EQ(output->binary->spill_bytes, 0) << name;
    EXPECT_GT(output->binary->registers, 0) << name;
    ++compiled;
  }
  EXPECT_EQ(compiled, sources.size());
}

}  // namespace
}  // namespace fusetune
