// Sweeps on a GPU: a whole sweep into a fresh database, answers from the cache, and candidates
// that fault, hang, compute wrong numbers or cannot launch recorded as such while the sweep
// goes on.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "cache/database.h"
#include "cache/merge.h"
#include "cache/transfer.h"
#include "cache/winner_rule.h"
#include "fusetune/fusetune.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "runtime/import_checks.h"
#include "runtime/nvrtc.h"
#include "tests/gpu_test.h"
#include "tuner/tune.h"
#include "tuner/tune_auto.h"
#include "tuner/worker_client.h"
#include "tuner/worker_lookup.h"

namespace fusetune {
namespace {

std::filesystem::path fresh_folder(const std::string& name) {
  const std::filesystem::path folder = std::filesystem::path(::testing::TempDir()) /
                                       (name + "_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(folder);
  return folder;
}

TEST(TuneGpuTest, SweepVerifiesTimesAndStoresEveryCandidateThenAnswersFromTheCache) {
  FUSETUNE_REQUIRE_GPU();
  const std::filesystem::path folder = fresh_folder("tune_gpu");
  const auto db = cache::Database::open((folder / "tuning.db").string());
  const Spec spec = parse_spec("linear(m=512, n=256, k=128) -> bias -> gelu");
  const TuneReport first = tune(spec, *db, TuneOptions{});
  ASSERT_TRUE(first.winner);
  EXPECT_FALSE(first.from_cache);
  EXPECT_GE(first.candidates, 100);
  EXPECT_LE(*first.winner->rel_err, 1e-5);
  ASSERT_TRUE(first.winner_recheck_rel_err) << "the winner was not re-checked on new inputs";
  EXPECT_LE(*first.winner_recheck_rel_err, 1e-5);
  // The winner is the fastest, or within the fastest's noise (cache/winner_rule.h).
  const CandidateResult* fastest = nullptr;
  for (const CandidateResult& r : first.results)
    if (r.outcome == Outcome::ok && (!fastest || *r.time_ms < *fastest->time_ms)) fastest = &r;
  ASSERT_NE(fastest, nullptr);
  const double noise = std::max(fastest->time_noise.value_or(0), cache::kNoiseFloor);
  EXPECT_LE(*first.winner->time_ms, *fastest->time_ms * (1 + noise)) << fastest->name;

  const std::vector<cache::TuningRecord> stored = db->tunings();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].candidate_count, first.candidates);
  EXPECT_EQ(stored[0].winner, first.winner->name);

  const auto start = std::chrono::steady_clock::now();
  const TuneReport second = tune(spec, *db, TuneOptions{});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.winner->name, first.winner->name);
  std::filesystem::remove_all(folder);
}

// A result from elsewhere that claims to run in half the winner's time, imported without its
// cubin: the winner stays until `tune` has compiled it and timed both here, and the claimed time
// is then gone from the database.
TEST(TuneGpuTest, AnImportedFasterResultIsTimedHereBeforeItMayWin) {
  FUSETUNE_REQUIRE_GPU();
  const std::filesystem::path folder = fresh_folder("tune_import");
  const std::string path = (folder / "tuning.db").string();
  const auto db = cache::Database::open(path);
  const Spec spec = parse_spec("linear(m=256, n=256, k=128) -> relu");
  TuneOptions options;
  options.max_candidates = 8;
  const TuneReport first = tune(spec, *db, options);
  ASSERT_TRUE(first.winner);
  const cache::TuningRecord mine = db->tunings().at(0);
  std::vector<cache::CandidateRecord> rows = db->candidates(mine.id);
  const auto other = std::ranges::find_if(rows, [&](const cache::CandidateRecord& r) {
    return (r.outcome == "ok" || r.outcome == "slower") && r.name != mine.winner;
  });
  ASSERT_NE(other, rows.end());
  cache::CandidateRecord claimed = *other;
  claimed.outcome = "ok";
  claimed.time_ms = *mine.winner_time_ms / 2;
  claimed.time_noise.reset();
  db->forget_binary(claimed.binary_key);  // as an import without --trust-binaries leaves it
  {
    const auto elsewhere = cache::Database::open((folder / "elsewhere.db").string());
    cache::TuningRecord theirs = mine;
    theirs.winner = claimed.name;
    theirs.winner_time_ms = claimed.time_ms;
    theirs.winner_config_json = claimed.config_json;
    elsewhere->store_candidate(elsewhere->store_tuning(theirs), claimed);
  }
  const cache::MergeSummary merged = cache::merge_database_file((folder / "elsewhere.db").string(),
                                                                path, {.check = import_problem});
  EXPECT_EQ(merged.winners_to_reverify, 1);
  EXPECT_EQ(db->find_tuning(mine.key)->winner, mine.winner) << "not displaced by a claim";

  const TuneReport second = tune(spec, *db, options);
  ASSERT_EQ(second.reverified.size(), 1u);
  EXPECT_NE(second.reverified[0].find("merged from elsewhere"), std::string::npos);
  EXPECT_FALSE(second.from_cache);
  ASSERT_TRUE(second.winner);
  const cache::TuningRecord after = *db->find_tuning(mine.key);
  const std::vector<cache::CandidateRecord> timed = db->candidates(after.id);
  const auto row = std::ranges::find_if(
      timed, [&](const cache::CandidateRecord& r) { return r.name == claimed.name; });
  ASSERT_NE(row, timed.end());
  EXPECT_NE(row->time_ms, claimed.time_ms) << "timed here";
  EXPECT_EQ(cache::unconfirmed_challenger(after, timed), std::nullopt);
  EXPECT_TRUE(db->find_binary(claimed.binary_key).has_value()) << "compiled from source";
}

TEST(TuneGpuTest, ATuningForcedAgainTimesTheWinnerItReplacesAndKeepsItWithinNoise) {
  FUSETUNE_REQUIRE_GPU();
  const std::filesystem::path folder = fresh_folder("tune_gpu_incumbent");
  const auto db = cache::Database::open((folder / "tuning.db").string());
  const Spec spec = parse_spec("linear(m=256, n=512, k=256) -> relu");
  TuneOptions options;
  options.max_candidates = 24;
  options.finalists = 2;  // the incumbent may then be timed beyond them, as a third
  const TuneReport first = tune(spec, *db, options);
  ASSERT_TRUE(first.winner);
  options.force = true;
  const TuneReport again = tune(spec, *db, options);
  ASSERT_TRUE(again.winner);
  EXPECT_EQ(again.incumbent, first.winner->name);
  const auto incumbent = std::find_if(again.results.begin(), again.results.end(),
                                      [&](const auto& r) { return r.name == again.incumbent; });
  ASSERT_NE(incumbent, again.results.end());
  ASSERT_EQ(incumbent->outcome, Outcome::ok) << "the incumbent was not timed among the finalists";
  const CandidateResult* fastest = nullptr;
  for (const CandidateResult& r : again.results)
    if (r.outcome == Outcome::ok && (!fastest || *r.time_ms < *fastest->time_ms)) fastest = &r;
  const double noise = std::max(
      {cache::kNoiseFloor, fastest->time_noise.value_or(0), incumbent->time_noise.value_or(0)});
  const bool within =
      *incumbent->time_ms <= *fastest->time_ms * (1 + cache::kIncumbentBand * noise);
  EXPECT_EQ(again.winner->name == again.incumbent, within)
      << again.winner->name << " " << *incumbent->time_ms << " vs " << *fastest->time_ms;
  EXPECT_EQ(db->find_tuning(db->tunings()[0].key)->winner, again.winner->name);
  std::filesystem::remove_all(folder);
}

TEST(TuneGpuTest, AutoTunesEachPrecisionWithinTheToleranceAndTheLibraryLoadsItsChoice) {
  FUSETUNE_REQUIRE_GPU();
  const std::filesystem::path folder = fresh_folder("tune_auto");
  const std::string database = (folder / "tuning.db").string();
  const auto db = cache::Database::open(database);
  const Spec spec = parse_spec("linear(m=256, n=384, k=200) -> bias -> relu");
  const PrecisionPolicy policy = make_precision_policy("auto", 1e-5);
  const AutoTuneReport first = tune_auto(spec, *db, policy, TuneOptions{});
  ASSERT_EQ(first.sweeps.size(), 2u);
  EXPECT_EQ(first.sweeps[0].precision, "3xtf32");
  EXPECT_EQ(first.sweeps[1].precision, "fp32");
  const TuneReport* chosen = first.chosen_sweep();
  ASSERT_NE(chosen, nullptr) << "no precision has a winner within 1e-5";
  EXPECT_LE(*measured_error(*chosen), 1e-5);
  for (const TuneReport& sweep : first.sweeps) {
    EXPECT_FALSE(sweep.from_cache);
    if (sweep.winner && *measured_error(sweep) <= 1e-5) {
      EXPECT_LE(*chosen->winner->time_ms, *sweep.winner->time_ms) << sweep.precision;
    }
  }
  // Each precision is stored under its own key, so a plain tune of one is answered at once.
  EXPECT_EQ(db->tunings().size(), 2u);
  TuneOptions fp32_only;
  EXPECT_TRUE(tune(spec, *db, fp32_only).from_cache);
  const AutoTuneReport second = tune_auto(spec, *db, policy, TuneOptions{});
  EXPECT_TRUE(second.sweeps[0].from_cache && second.sweeps[1].from_cache);
  EXPECT_EQ(second.chosen, first.chosen);

  Options options;
  options.database_path = database;
  options.precision = "auto";
  options.on_warning = [](const std::string& w) { ADD_FAILURE() << "warned: " << w; };
  const Result<std::unique_ptr<Library>> library = Library::open(options);
  ASSERT_TRUE(library.ok()) << library.status().message();
  const Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(spec.canonical());
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_EQ(kernel.value()->config(), chosen->winner->name);
  EXPECT_TRUE(kernel.value()->tuned());
  std::filesystem::remove_all(folder);
}

// Runs hand-written kernels through the worker, which is set up for `kSpec`.
class WorkerFaultTest : public ::testing::Test {
 protected:
  static constexpr const char* kSpec = "linear(m=128, n=128, k=64) -> relu";

  void SetUp() override {
    FUSETUNE_REQUIRE_GPU();
    device_ = require_device();
    folder_ = fresh_folder("worker_fault");
    SetupRequest setup;
    setup.spec = kSpec;
    setup.seed = 7;
    setup.timing.min_launches = 3;
    setup.timing.min_total_ms = 0;
    worker_ = std::make_unique<WorkerClient>(find_worker(), setup, (folder_ / "log").string());
  }
  void TearDown() override {
    worker_.reset();
    std::filesystem::remove_all(folder_);
  }

  RunReply run(const std::string& name, const std::string& source, LaunchGeometry geometry,
               double timeout_s = 20) {
    const CompiledBinary binary = compile_to_cubin(source, name, device_.arch());
    const std::filesystem::path path = folder_ / (name + ".cubin");
    std::ofstream(path, std::ios::binary).write(binary.cubin.data(), binary.cubin.size());
    return worker_->run({name, path.string(), geometry, std::nullopt, std::nullopt}, timeout_s);
  }

  RunReply run_correct() {
    const Spec spec = parse_spec(kSpec);
    const KernelSource source =
        generate(spec, default_candidate(spec, device_.limits, Precision::fp32).config);
    return run(source.name, source.code, source.launch);
  }

  // A kernel whose single parameter has the size of every generated kernel's.
  static std::string kernel(const std::string& name, const std::string& body) {
    return "struct Args { char bytes[200]; };\nextern \"C\" __global__ void " + name +
           "(const Args) {\n" + body + "\n}\n";
  }

  DeviceInfo device_;
  std::filesystem::path folder_;
  std::unique_ptr<WorkerClient> worker_;
};

TEST_F(WorkerFaultTest, EachFailureIsNamedAndTheNextCandidateStillRuns) {
  EXPECT_EQ(run_correct().outcome, Outcome::ok);

  const RunReply fault =
      run("illegal_address", kernel("illegal_address", "*(volatile float*)16 = 1.0f;"), {});
  EXPECT_EQ(fault.outcome, Outcome::fault) << fault.message;
  EXPECT_EQ(run_correct().outcome, Outcome::ok) << "no fresh worker after a fault";

  const RunReply hang =
      run("hang", kernel("hang", "for (;;) asm volatile(\"nanosleep.u32 1000;\");"), {}, 3.0);
  EXPECT_EQ(hang.outcome, Outcome::timeout) << hang.message;
  EXPECT_EQ(run_correct().outcome, Outcome::ok) << "no fresh worker after a hang";

  const RunReply wrong = run("writes_nothing", kernel("writes_nothing", ""), {});
  EXPECT_EQ(wrong.outcome, Outcome::wrong_result) << "the poisoned output passed";
  EXPECT_GT(wrong.non_finite, 0);

  LaunchGeometry too_large;
  too_large.block = {4096, 1, 1};
  const RunReply refused = run("too_many_threads", kernel("too_many_threads", ""), too_large);
  EXPECT_EQ(refused.outcome, Outcome::out_of_resources) << refused.message;
  EXPECT_EQ(run_correct().outcome, Outcome::ok);
}

}  // namespace
}  // namespace fusetune
