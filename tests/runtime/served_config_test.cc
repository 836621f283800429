// Which configuration serves a load, as a specification, on a made-up GPU (no GPU needed): the
// tuned winner, else the winner of a tuned bucket that holds the rows (the narrowest), else the
// nearest tuned shape's, else the default; and a stored winner that the
// generator refuses (a damaged database, a forged import) is never generated: the spec is served
// as if untuned, with a warning that names the spec, the tunable and the database.
#include "runtime/served_config.h"

#include <gtest/gtest.h>

#include <climits>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "runtime/tuning_key.h"

namespace fusetune {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSpec = "linear(m=1024, n=1024, k=1024) -> bias -> relu";
constexpr const char* kNeighbour = "linear(m=1024, n=1024, k=2048) -> bias -> relu";

DeviceInfo test_gpu() {
  DeviceInfo gpu;
  gpu.name = "Test GPU";
  gpu.cc_major = 9;
  gpu.sm_count = 132;
  gpu.limits = *DeviceLimits::for_arch("sm_90");
  return gpu;
}

class ServedConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::path(::testing::TempDir()) / ("served_" + std::to_string(std::random_device{}()));
    fs::create_directories(folder_);
    layers_.emplace(cache::Database::open((folder_ / "tuning.db").string()), nullptr);
  }
  void TearDown() override {
    layers_.reset();
    fs::remove_all(folder_);
  }

  // Stores a tuning of `text` at fp32 on the test GPU whose winner is `config` (JSON).
  void store_winner(const std::string& text, const std::string& name, const std::string& config) {
    const Spec spec = parse_spec(text);
    cache::TuningRecord t;
    t.key = tuning_key(spec, "fp32", gpu_.name, gpu_.arch(), gpu_.sm_count);
    t.spec = spec.canonical();
    t.winner = name;
    t.winner_time_ms = 1.0;
    t.winner_rel_err = 1e-7;
    t.winner_config_json = config;
    t.created_at = t.updated_at = "2025-01-02T03:04:05Z";
    layers_->user().store_tuning(t);
  }

  ServedConfig serve(const std::string& text) {
    const Spec spec = parse_spec(text);
    return served_config(spec, make_precision_policy("fp32", std::nullopt, spec.main), gpu_,
                         *layers_);
  }

  // The default configuration's JSON with `key` set to `value`.
  static std::string default_with(const std::string& key, int value) {
    const Spec spec = parse_spec(kSpec);
    nlohmann::json json = nlohmann::json::parse(
        config_json(default_candidate(spec, test_gpu().limits, Precision::fp32).config));
    json[key] = value;
    return json.dump();
  }

  fs::path folder_;
  DeviceInfo gpu_ = test_gpu();
  std::optional<cache::Layers> layers_;
};

TEST_F(ServedConfigTest, ATunedWinnerServesUnderItsProceduralName) {
  const Spec spec = parse_spec(kSpec);
  const Candidate winner = search_space(spec, gpu_.limits, Precision::fp32).at(3);
  store_winner(kSpec, winner.name, config_json(winner.config));
  const ServedConfig served = serve(kSpec);
  ASSERT_TRUE(served.tuning.has_value());
  EXPECT_EQ(served.candidate.config, winner.config);
  EXPECT_EQ(served.candidate.name, winner.name);
  EXPECT_TRUE(served.warnings.empty());
}

// A training forward (the spec with save) runs its plain forward's winner, borrowed, before
// any neighbour's; its own tuning, once made, wins.
TEST_F(ServedConfigTest, ASavingForwardBorrowsItsPlainForwardsWinner) {
  const Spec spec = parse_spec(kSpec);
  const std::vector<Candidate> space = search_space(spec, gpu_.limits, Precision::fp32);
  store_winner(kSpec, space.at(3).name, config_json(space.at(3).config));
  store_winner(kNeighbour, space.at(5).name, config_json(space.at(5).config));
  const std::string saving = "linear(m=1024, n=1024, k=1024) -> save -> bias -> relu";
  ServedConfig served = serve(saving);
  EXPECT_FALSE(served.tuning.has_value());
  EXPECT_EQ(served.neighbour, kSpec);
  EXPECT_EQ(served.candidate.config, space.at(3).config);
  store_winner(saving, space.at(7).name, config_json(space.at(7).config));
  served = serve(saving);
  ASSERT_TRUE(served.tuning.has_value());
  EXPECT_EQ(served.candidate.config, space.at(7).config);
}

TEST_F(ServedConfigTest, AStoredWinnerTheGeneratorRefusesServesTheSpecAsUntunedWithAWarning) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, int>>{
           {"bk", 0}, {"warps_m", 0}, {"lanes_n", INT_MIN}, {"rep_m", 0}, {"stages", -3}}) {
    store_winner(kSpec, "ft_forged", default_with(key, value));
    const ServedConfig served = serve(kSpec);
    EXPECT_FALSE(served.tuning.has_value()) << key;
    const Spec spec = parse_spec(kSpec);
    EXPECT_EQ(served.candidate.name, default_candidate(spec, gpu_.limits, Precision::fp32).name)
        << key;
    ASSERT_EQ(served.warnings.size(), 1u) << key;
    const std::string& warning = served.warnings[0];
    EXPECT_NE(warning.find(spec.canonical()), std::string::npos) << warning;
    EXPECT_NE(warning.find("gemm_simt." + key), std::string::npos) << warning;
    EXPECT_NE(warning.find((folder_ / "tuning.db").string()), std::string::npos) << warning;
    EXPECT_FALSE(generate(spec, served.candidate.config).code.empty());
  }
}

TEST_F(ServedConfigTest, ANeighbourWhoseStoredWinnerIsRefusedIsNotBorrowed) {
  const Spec spec = parse_spec(kSpec);
  const Spec neighbour = parse_spec(kNeighbour);
  const Candidate winner = search_space(neighbour, gpu_.limits, Precision::fp32).at(5);
  store_winner(kNeighbour, winner.name, config_json(winner.config));
  EXPECT_EQ(serve(kSpec).neighbour, neighbour.canonical()) << "a sound neighbour is borrowed";

  for (const auto& [key, value] :
       std::vector<std::pair<std::string, int>>{{"warps_m", 0}, {"lanes_m", 0}, {"rep_n", 0}}) {
    nlohmann::json forged = nlohmann::json::parse(config_json(winner.config));
    forged[key] = value;
    store_winner(kNeighbour, winner.name, forged.dump());
    const ServedConfig served = serve(kSpec);
    EXPECT_TRUE(served.neighbour.empty()) << key;
    EXPECT_EQ(served.candidate.name, default_candidate(spec, gpu_.limits, Precision::fp32).name);
  }
}

// ---- buckets of row counts ----

constexpr const char* kBucket = "linear(m=513..1024, n=1024, k=1024) -> bias -> relu";
constexpr const char* kWideBucket = "linear(m=1..1024, n=1024, k=1024) -> bias -> relu";
constexpr const char* kCall = "linear(m=700, n=1024, k=1024) -> bias -> relu";

TEST_F(ServedConfigTest, ACallInATunedBucketGetsTheBucketsWinnerAndItsKernelSpec) {
  const Spec bucket = parse_spec(kBucket);
  const Candidate winner = search_space(bucket, gpu_.limits, Precision::fp32).at(2);
  store_winner(kBucket, winner.name, config_json(winner.config));
  const ServedConfig served = serve(kCall);
  ASSERT_TRUE(served.tuning.has_value()) << "a bucket's winner is a tuned one";
  ASSERT_TRUE(served.bucket.has_value());
  EXPECT_EQ(*served.bucket, bucket);
  EXPECT_EQ(served.candidate.config, winner.config);
  EXPECT_TRUE(served.neighbour.empty());
  // The kernel generated for the bucket takes the call's rows at launch.
  const KernelSource source = generate(*served.bucket, served.candidate.config);
  EXPECT_NE(source.code.find("DYNAMIC_M = true"), std::string::npos);
  EXPECT_EQ(source.launch.rows.max_rows, 1024);
  // Rows outside the range are not the bucket's.
  EXPECT_FALSE(serve("linear(m=512, n=1024, k=1024) -> bias -> relu").bucket.has_value());
}

TEST_F(ServedConfigTest, AnExactTuningBeatsTheBucketAndTheBucketBeatsANeighbour) {
  const Spec bucket = parse_spec(kBucket);
  const Candidate in_bucket = search_space(bucket, gpu_.limits, Precision::fp32).at(1);
  store_winner(kBucket, in_bucket.name, config_json(in_bucket.config));
  const Spec neighbour = parse_spec("linear(m=700, n=1024, k=2048) -> bias -> relu");
  const Candidate near = search_space(neighbour, gpu_.limits, Precision::fp32).at(4);
  store_winner(neighbour.canonical(), near.name, config_json(near.config));
  EXPECT_EQ(serve(kCall).candidate.config, in_bucket.config) << "the bucket, not the neighbour";
  EXPECT_TRUE(serve(kCall).neighbour.empty());

  const Spec call = parse_spec(kCall);
  const Candidate own = search_space(call, gpu_.limits, Precision::fp32).at(3);
  store_winner(kCall, own.name, config_json(own.config));
  const ServedConfig served = serve(kCall);
  EXPECT_EQ(served.candidate.config, own.config);
  EXPECT_FALSE(served.bucket.has_value()) << "a shape tuned on its own keeps its own winner";
}

TEST_F(ServedConfigTest, TheNarrowestTunedBucketServes) {
  const Spec wide = parse_spec(kWideBucket), narrow = parse_spec(kBucket);
  const Candidate wide_winner = search_space(wide, gpu_.limits, Precision::fp32).at(0);
  const Candidate narrow_winner = search_space(narrow, gpu_.limits, Precision::fp32).at(5);
  store_winner(kWideBucket, wide_winner.name, config_json(wide_winner.config));
  store_winner(kBucket, narrow_winner.name, config_json(narrow_winner.config));
  EXPECT_EQ(*serve(kCall).bucket, narrow);
  EXPECT_EQ(*serve("linear(m=3, n=1024, k=1024) -> bias -> relu").bucket, wide);
}

}  // namespace
}  // namespace fusetune
