// The registry of kernel families as a whole: what every family's table must give (names and
// JSON that read back, also as stored by earlier versions; a setting and a Config constant per
// tunable), checked for each family the registry lists, so that a new family is checked too.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "generator/tunables.h"

namespace fusetune {
namespace {

const char* const kSpecs[] = {
    "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)",
    "matmul(m=1000, n=999, k=77, transpose_a=true) -> add(tensor) -> gelu(tanh)",
    "matmul(m=5, n=998, k=300, transpose_a=true) -> add(row) -> silu",
    "linear(m=16, n=1024, k=8192) -> bias -> softmax(dim=1)",
    "linear(m=37, n=200, k=3004, dtype=bf16) -> bias -> gelu(tanh)",
    "conv2d(n=2, c=6, h=19, w=23, k=10, kernel=3, stride=2, padding=2, groups=2) -> bias -> "
    "relu -> max_pool2d(2)",
    "conv_transpose2d(n=1, c=4, h=5, w=6, k=4, kernel=3, stride=(2, 3), output_padding=1)",
};

std::vector<std::string> family_names() {
  std::vector<std::string> names;
  for_each_family([&](const auto& family) { names.emplace_back(family.name); });
  return names;
}

TEST(KernelFamilies, EachHasItsOwnPrefixAndAnExampleThatParses) {
  const std::vector<std::string> names = family_names();
  ASSERT_EQ(names.size(), std::variant_size_v<KernelConfig>);
  for (const std::string& a : names)
    for (const std::string& b : names)
      if (a != b) {
        EXPECT_FALSE(("ft_" + b + "_").starts_with("ft_" + a + "_")) << a << ", " << b;
      }
  for_each_family([](const auto& family) {
    std::string why;
    EXPECT_TRUE(parse_procedural_name(family, family.example, &why))
        << family.example << ": " << why;
    EXPECT_FALSE(family.precisions.empty()) << family.name;
  });
}

TEST(KernelFamilies, EveryCandidateReadsBackFromItsNameAndItsJson) {
  std::set<std::string> families_seen;
  for (const char* text : kSpecs) {
    const Spec spec = parse_spec(text);
    for (const char* arch : {"sm_80", "sm_90"}) {
      const DeviceLimits limits = DeviceLimits::for_arch(arch).value();
      for (Precision precision : kPrecisions) {
        std::set<std::string> names;
        for (const Candidate& c : search_space(spec, limits, precision)) {
          families_seen.insert(nlohmann::json::parse(config_json(c.config)).at("family"));
          EXPECT_TRUE(names.insert(c.name).second) << "two configurations named " << c.name;
          EXPECT_EQ(precision_of(c.config), precision) << c.name;
          EXPECT_EQ(candidate_from_name(spec, limits, c.name).config, c.config) << c.name;
          EXPECT_EQ(config_from_json(config_json(c.config)), c.config) << c.name;
        }
      }
    }
  }
  const std::vector<std::string> names = family_names();
  EXPECT_EQ(families_seen, std::set<std::string>(names.begin(), names.end()));
}

TEST(KernelFamilies, SettingsAndJsonHoldEveryTunableOnce) {
  for_each_family([](const auto& family) {
    const auto config = parse_procedural_name(family, family.example, nullptr).value();
    const std::vector<std::string> settings = tunable_settings(KernelConfig{config});
    ASSERT_EQ(settings.size(), family.tunables.size()) << family.name;
    const nlohmann::json json = nlohmann::json::parse(config_json(config));
    EXPECT_EQ(json.size(), family.tunables.size() + 1) << json;  // and "family"
    for (std::size_t i = 0; i < settings.size(); ++i) {
      const std::string key(family.tunables[i].key);
      EXPECT_EQ(settings[i], fmt::format("{}.{}={}", family.name, key, json.at(key).dump()));
    }
  });
}

TEST(KernelFamilies, TheConfigDeclaresEveryTunableThatHasAConstant) {
  const Spec gemm = parse_spec(kSpecs[1]), conv = parse_spec(kSpecs[5]);
  for_each_family([&](const auto& family) {
    const auto config = parse_procedural_name(family, family.example, nullptr).value();
    using C = std::decay_t<decltype(config)>;
    const std::string code = generate(family.runs_convolutions ? conv : gemm, config).code;
    for (const Tunable<C>& tunable : family.tunables) {
      if (tunable.constant.empty() || (tunable.declared && !tunable.declared(config))) continue;
      const std::string constant(tunable.constant);
      const bool triple = std::holds_alternative<std::array<int, 3> C::*>(tunable.member);
      EXPECT_NE(code.find(" " + constant + (triple ? "_D = " : " = ")), std::string::npos)
          << family.name << ": " << constant;
    }
  });
}

// What earlier versions stored, without the keys added since: each loads, those tunables at the
// value that kept the kernel as it was (one split, no cluster, no TMA store, fp32 inputs).
TEST(KernelFamilies, ConfigurationsStoredByEarlierVersionsStillLoad) {
  // Before split-K.
  const GemmSimtConfig simt{2, 2, 4, 8, 4, 2, 16, 3, false, true, 1, 1, 1, /*splits=*/1};
  EXPECT_EQ(config_from_json(R"({"family": "gemm_simt", "warps_m": 2, "warps_n": 2,
      "lanes_m": 4, "lanes_n": 8, "rep_m": 4, "rep_n": 2, "bk": 16, "stages": 3,
      "lane_n_fastest": false, "spread_fill": true, "min_blocks": 1, "vec_a": 1, "vec_b": 1})"),
            KernelConfig{simt});
  // Before 16-bit inputs.
  const GemmMmaConfig mma{2, 2, 4, 4, 16, 3, 3, 4, 4, DataType::fp32};
  EXPECT_EQ(config_from_json(R"({"family": "gemm_mma", "warps_m": 2, "warps_n": 2,
      "mma_tiles_m": 4, "mma_tiles_n": 4, "bk": 16, "stages": 3, "passes": 3, "vec_a": 4,
      "vec_b": 4})"),
            KernelConfig{mma});
  // The first warpgroup-MMA results: TF32 rounded in the kernel, no split-K, clusters, TMA
  // stores or 16-bit inputs.
  const GemmWgmmaConfig wgmma{.block_m = 128,
                              .block_n = 256,
                              .stages = 3,
                              .consumers = 2,
                              .passes = 1,
                              .dtype = DataType::fp32,
                              .splits = 1,
                              .cluster = 1,
                              .tma_store = false,
                              .blocks = 132};
  EXPECT_EQ(config_from_json(R"({"family": "gemm_wgmma", "block_m": 128, "block_n": 256,
      "stages": 3, "consumers": 2, "passes": 1, "round_a": true, "round_b": true,
      "blocks": 132})"),
            KernelConfig{wgmma});
  // Families whose keys have not changed.
  EXPECT_EQ(config_from_json(R"({"family": "gemv_simt", "layout": "columns", "block_m": 3,
      "warps": 4, "rows_per_warp": 0, "column_threads": 32, "unroll": 8, "vec": 2, "splits": 4})"),
            KernelConfig(GemvSimtConfig{GemvLayout::columns, 3, 4, 0, 32, 8, 2, 4}));
  EXPECT_EQ(config_from_json(R"({"family": "conv_simt", "co_block": 16, "co_thread": 16,
      "threads": [2, 4, 32], "cells": [1, 1, 1], "ci_chunk": 16})"),
            KernelConfig(ConvSimtConfig{16, 16, {2, 4, 32}, {1, 1, 1}, 16}));
  EXPECT_EQ(config_from_json(R"({"family": "conv_mma", "warps_m": 2, "warps_n": 2,
      "mma_tiles_m": 4, "mma_tiles_n": 8, "bk": 32, "stages": 3, "passes": 1, "vec_b": 4})"),
            KernelConfig(ConvMmaConfig{2, 2, 4, 8, 32, 3, 1, 4}));
}

TEST(KernelFamilies, StoredConfigurationsMissingARequiredKeyOrWithAnUnknownWordAreRefused) {
  for (const char* json :
       {R"({"family": "gemv_simt", "layout": "rows", "block_m": 1, "warps": 8,
            "rows_per_warp": 2, "column_threads": 0, "unroll": 4, "vec": 4})",
        R"({"family": "gemv_simt", "layout": "diagonal", "block_m": 1, "warps": 8,
            "rows_per_warp": 2, "column_threads": 0, "unroll": 4, "vec": 4, "splits": 1})",
        R"({"family": "conv_simt", "co_block": 16, "co_thread": 16, "threads": [2, 4],
            "cells": [1, 1, 1], "ci_chunk": 16})",
        R"({"family": "gemm_simt", "warps_m": 2})", R"({"family": "gemm_tiled"})"}) {
    try {
      config_from_json(json);
      ADD_FAILURE() << "accepted " << json;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), StatusCode::invalid_argument) << json;
    }
  }
}

}  // namespace
}  // namespace fusetune
