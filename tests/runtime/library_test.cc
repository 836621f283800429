// The public API end to end on a GPU: tune into a fresh database, load, launch, check against
// the fp64 reference; warm loads compile nothing; untuned specs load with a warning.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "cache/database.h"
#include "fusetune/fusetune.h"
#include "generator/spec_parser.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/nvrtc.h"
#include "tests/gpu_test.h"
#include "tests/runtime/library_on_gpu.h"
#include "tuner/problem_data.h"
#include "tuner/tune.h"

namespace fusetune {
namespace {

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

constexpr const char* kSpec = "linear(m=256, n=512, k=128) -> bias -> mul(2.0) -> leaky_relu(0.1)";

// Every test gets a fresh database, into which kSpec is tuned (once per suite, then copied).
class LibraryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!probe_device().device) return;
    suite_folder_ = std::filesystem::path(::testing::TempDir()) /
                    ("library_test_" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(suite_folder_);
    const auto db = cache::Database::open((suite_folder_ / "tuned.db").string());
    tuned_ = tune(parse_spec(kSpec), *db, TuneOptions{}).winner.has_value();
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(suite_folder_); }

  void SetUp() override {
    FUSETUNE_REQUIRE_GPU();
    folder_ = suite_folder_ / std::to_string(std::random_device{}());
    std::filesystem::create_directories(folder_);
    database_ = (folder_ / "tuning.db").string();
    check_cuda(cudaStreamCreate(&stream_), "creating a stream");
  }
  void TearDown() override {
    if (stream_) cudaStreamDestroy(stream_);
    std::filesystem::remove_all(folder_);
  }

  void tune_into_database() {
    ASSERT_TRUE(tuned_) << "the sweep of " << kSpec << " found no winner";
    std::filesystem::copy_file(suite_folder_ / "tuned.db", database_);
  }

  Options options() {
    Options o;
    o.database_path = database_;
    o.on_warning = [this](const std::string& w) { warnings_.push_back(w); };
    return o;
  }

  // Launches `kernel` on fresh inputs and returns its error against fp64.
  Verification run(const Kernel& kernel, const std::string& spec) {
    ProblemData data(parse_spec(spec), std::random_device{}(), stream_);
    Arguments arguments;
    for (std::size_t i = 0; i < kernel.tensors().size(); ++i)
      arguments.tensors.push_back(data.launch_args().tensors[i]);
    arguments.out = data.output();
    data.poison_output();
    const Status launched = kernel.launch(stream_, arguments);
    EXPECT_TRUE(launched.ok()) << launched.message();
    return data.verify();
  }

  static inline std::filesystem::path suite_folder_;
  static inline bool tuned_ = false;
  std::filesystem::path folder_;
  std::string database_;
  cudaStream_t stream_ = nullptr;
  std::vector<std::string> warnings_;
};

TEST_F(LibraryTest, TunedSpecLoadsItsWinnerWithoutCompilingAndComputesTheSpec) {
  tune_into_database();
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok()) << library.status().message();
  const std::uint64_t compiles = nvrtc_compile_count();
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kSpec);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_EQ(nvrtc_compile_count(), compiles) << "a warm load compiled";
  EXPECT_TRUE(kernel.value()->tuned());
  EXPECT_TRUE(warnings_.empty());
  const auto db = cache::Database::open(database_);
  EXPECT_EQ(kernel.value()->config(), db->tunings().front().winner);
  const Verification v = run(*kernel.value(), kSpec);
  EXPECT_EQ(v.non_finite, 0);
  EXPECT_LE(v.rel_err, 1e-5);
}

// A bucket of row counts tuned beside kSpec (m=256 of the same chain): a call of any other row
// count in the bucket loads the bucket's kernel without compiling, one module for all of them,
// and computes its own rows; m=256, tuned on its own, keeps its own winner.
TEST_F(LibraryTest, ACallInATunedBucketLoadsTheBucketsKernelWithoutCompiling) {
  tune_into_database();
  constexpr const char* kBucket =
      "linear(m=129..256, n=512, k=128) -> bias -> mul(2.0) -> leaky_relu(0.1)";
  std::string bucket_winner;
  {
    const auto db = cache::Database::open(database_);
    TuneOptions options;
    options.max_candidates = 6;
    const TuneReport report = tune(parse_spec(kBucket), *db, options);
    ASSERT_TRUE(report.winner.has_value()) << "the bucket's sweep found no winner";
    bucket_winner = report.winner->name;
  }
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok()) << library.status().message();
  const std::uint64_t compiles = nvrtc_compile_count();
  for (const int m : {200, 129, 131, 255, 200}) {
    const std::string spec =
        fmt::format("linear(m={}, n=512, k=128) -> bias -> mul(2.0) -> leaky_relu(0.1)", m);
    SCOPED_TRACE(spec);
    Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(spec);
    ASSERT_TRUE(kernel.ok()) << kernel.status().message();
    EXPECT_TRUE(kernel.value()->tuned());
    EXPECT_EQ(kernel.value()->config(), bucket_winner);
    EXPECT_EQ(kernel.value()->output_shape(), (std::vector<std::int64_t>{m, 512}));
    for (int launch = 0; launch < 2; ++launch) {
      const Verification v = run(*kernel.value(), spec);
      EXPECT_EQ(v.non_finite, 0);
      EXPECT_LE(v.rel_err, 1e-5);
    }
  }
  EXPECT_EQ(nvrtc_compile_count(), compiles) << "a call in a tuned bucket compiled";
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();

  Result<std::shared_ptr<const Kernel>> own = library.value()->load(kSpec);
  ASSERT_TRUE(own.ok()) << own.status().message();
  EXPECT_EQ(
      own.value()->config(),
      cache::Database::open(database_)->find_tunings(parse_spec(kSpec).signature()).front().winner)
      << "an exact tuning wins over the bucket";
  // A bucket is tuned, not loaded: a call names its rows.
  EXPECT_EQ(library.value()->load(kBucket).status().code(), StatusCode::invalid_argument);
}

// A team's results shipped as a read-only system database under an empty user one, its cubins
// trusted.
TEST_F(LibraryTest, ATrustedSystemDatabasesWinnerLoadsTunedFromItsCubinAndNothingIsWrittenThere) {
  ASSERT_TRUE(tuned_) << "the sweep of " << kSpec << " found no winner";
  const std::filesystem::path system = folder_ / "system.db";
  std::filesystem::copy_file(suite_folder_ / "tuned.db", system);
  const std::string before = file_text(system);
  Options o = options();
  o.system_database_path = system.string();
  o.trust_system_binaries = true;
  Result<std::unique_ptr<Library>> library = Library::open(o);
  ASSERT_TRUE(library.ok()) << library.status().message();
  const std::uint64_t compiles = nvrtc_compile_count();
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kSpec);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_EQ(nvrtc_compile_count(), compiles) << "the system database's cubin was not used";
  EXPECT_TRUE(kernel.value()->tuned());
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
  EXPECT_EQ(
      kernel.value()->config(),
      cache::Database::open(system.string(), cache::OpenMode::read_only)->tunings().front().winner);
  EXPECT_LE(run(*kernel.value(), kSpec).rel_err, 1e-5);
  library.value().reset();

  EXPECT_EQ(file_text(system), before) << "the system file was modified";
  const auto user = cache::Database::open(database_, cache::OpenMode::read_only);
  EXPECT_TRUE(user->tunings().empty());
  EXPECT_EQ(user->binary_count(), 0);
  EXPECT_TRUE(user->misses().empty());
}

// By default a system database gives configurations and timings: its winner's kernel is compiled
// from source once, into the user's database, and loads from there afterwards.
TEST_F(LibraryTest, AnUntrustedSystemDatabasesWinnerIsCompiledOnceIntoTheUserDatabase) {
  ASSERT_TRUE(tuned_) << "the sweep of " << kSpec << " found no winner";
  const std::filesystem::path system = folder_ / "system.db";
  std::filesystem::copy_file(suite_folder_ / "tuned.db", system);
  Options o = options();
  o.system_database_path = system.string();
  for (int load = 0; load < 2; ++load) {
    Result<std::unique_ptr<Library>> library = Library::open(o);
    ASSERT_TRUE(library.ok()) << library.status().message();
    const std::uint64_t compiles = nvrtc_compile_count();
    Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kSpec);
    ASSERT_TRUE(kernel.ok()) << kernel.status().message();
    EXPECT_EQ(nvrtc_compile_count(), compiles + (load == 0 ? 1 : 0)) << "load " << load;
    EXPECT_TRUE(kernel.value()->tuned());
    EXPECT_LE(run(*kernel.value(), kSpec).rel_err, 1e-5);
  }
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
  EXPECT_EQ(cache::Database::open(database_, cache::OpenMode::read_only)->binary_count(), 1);
}

TEST_F(LibraryTest, ScalarsAreArgumentsSoOneKernelServesEveryValue) {
  tune_into_database();
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  // The same signature with other scalar values finds the same tuned kernel.
  const std::string other = "linear(m=256, n=512, k=128) -> bias -> mul(-3.0) -> leaky_relu(0.2)";
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(other);
  ASSERT_TRUE(kernel.ok());
  EXPECT_TRUE(kernel.value()->tuned());
  EXPECT_EQ(kernel.value()->scalar_names(),
            (std::vector<std::string>{"mul.value", "leaky_relu.negative_slope"}));
  const Verification v = run(*kernel.value(), other);  // its defaults are -3.0 and 0.2
  EXPECT_LE(v.rel_err, 1e-5);
}

// A spec that reduces is a plan of kernels: tuned, loaded from its one cubin and launched as
// one kernel, its scratch memory the loaded kernel's; after a first launch on a stream, launches
// can be captured into a CUDA graph, whose replays compute the spec again.
TEST_F(LibraryTest, APlanIsTunedLoadedAndCapturedInAGraphLikeOneKernel) {
  const std::string spec =
      "linear(m=300, n=5000, k=64) -> bias -> sum(dim=1, keepdim=true) -> mul(0.5) -> tanh";
  {
    const auto db = cache::Database::open(database_);
    TuneOptions tuning;
    tuning.max_candidates = 4;
    ASSERT_TRUE(tune(parse_spec(spec), *db, tuning).winner);
  }
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  const std::uint64_t compiles = nvrtc_compile_count();
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(spec);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_TRUE(kernel.value()->tuned());
  EXPECT_EQ(nvrtc_compile_count(), compiles);
  EXPECT_EQ(kernel.value()->output_shape(), (std::vector<std::int64_t>{300, 1}));
  EXPECT_LE(run(*kernel.value(), spec).rel_err, 1e-5);

  ProblemData data(parse_spec(spec), std::random_device{}(), stream_);
  Arguments arguments;
  for (std::size_t i = 0; i < kernel.value()->tensors().size(); ++i)
    arguments.tensors.push_back(data.launch_args().tensors[i]);
  arguments.out = data.output();
  ASSERT_TRUE(kernel.value()->launch(stream_, arguments).ok());  // allocates the scratch
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  const Status captured = kernel.value()->launch(stream_, arguments);
  ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess);
  ASSERT_TRUE(captured.ok()) << captured.message();
  testing::expect_replays_compute_the_spec(graph, data, stream_);
}

TEST_F(LibraryTest, UntunedSpecLoadsTheDefaultWithAWarning) {
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  const std::string spec = "matmul(m=100, n=200, k=50) -> gelu";
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(spec);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_FALSE(kernel.value()->tuned());
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("never tuned"), std::string::npos) << warnings_[0];
  EXPECT_LE(run(*kernel.value(), spec).rel_err, 1e-5);
  // Its cubin is kept: a second library loads it without compiling.
  Result<std::unique_ptr<Library>> again = Library::open(options());
  const std::uint64_t compiles = nvrtc_compile_count();
  ASSERT_TRUE(again.value()->load(spec).ok());
  EXPECT_EQ(nvrtc_compile_count(), compiles);
}

TEST_F(LibraryTest, AnUntunedShapeBorrowsTheNearestTunedShapesWinnerAndIsNotedAsAMiss) {
  tune_into_database();
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  // kSpec's chain at another shape, with other scalars.
  const std::string near = "linear(m=320, n=512, k=192) -> bias -> mul(1.5) -> leaky_relu(0.2)";
  const auto start = std::chrono::steady_clock::now();
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(near);
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_FALSE(kernel.value()->tuned());
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("nearest tuned shape 'linear(m=256, n=512, k=128)"),
            std::string::npos)
      << warnings_[0];
  EXPECT_LT(load_s, 5.0) << "one compile, no sweep";
  const Verification v = run(*kernel.value(), near);
  EXPECT_EQ(v.non_finite, 0);
  EXPECT_LE(v.rel_err, 1e-5);
  const auto db = cache::Database::open(database_);
  const std::vector<cache::MissRecord> misses = db->misses();
  ASSERT_EQ(misses.size(), 1u);
  EXPECT_EQ(misses[0].spec, parse_spec(near).canonical());
  EXPECT_EQ(misses[0].served, kernel.value()->config());
}

TEST_F(LibraryTest, ChangedSoftKeysServeTheWinnerWithAWarningUntilTuneReverifiesIt) {
  tune_into_database();
  {  // As if the driver had been updated since the sweep.
    const auto db = cache::Database::open(database_);
    cache::TuningRecord tuning = db->tunings().at(0);
    tuning.soft_keys.driver_version = 1000;
    db->store_tuning(tuning);
  }
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kSpec);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_TRUE(kernel.value()->tuned()) << "its code is right for this GPU: the winner serves";
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("under other soft keys (driver 1.0 -> "), std::string::npos)
      << warnings_[0];
  const auto db = cache::Database::open(database_);
  ASSERT_EQ(db->misses().size(), 1u) << "noted for tune --misses";
  EXPECT_EQ(db->misses()[0].served, kernel.value()->config());

  const TuneReport reverified = tune(parse_spec(kSpec), *db, TuneOptions{});
  ASSERT_EQ(reverified.reverified.size(), 1u);
  EXPECT_EQ(reverified.reverified[0].rfind("driver 1.0 -> ", 0), 0u) << reverified.reverified[0];
  EXPECT_FALSE(reverified.from_cache);
  ASSERT_TRUE(reverified.winner);
  ASSERT_TRUE(reverified.winner_recheck_rel_err) << "verified again on new inputs";
  EXPECT_LE(*reverified.winner_recheck_rel_err, 1e-5);
  int timed_again = 0;
  for (const CandidateResult& r : reverified.results) timed_again += r.outcome == Outcome::ok;
  EXPECT_GE(timed_again, 1);
  EXPECT_LE(timed_again, 2) << "the winner and the runner-up, not a new sweep";
  EXPECT_LT(reverified.tuning_seconds, 10.0);
  EXPECT_EQ(db->tunings().at(0).soft_keys, require_device().soft_keys);
  EXPECT_TRUE(tune(parse_spec(kSpec), *db, TuneOptions{}).from_cache) << "the keys match now";

  warnings_.clear();
  Result<std::unique_ptr<Library>> again = Library::open(options());
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again.value()->load(kSpec).ok());
  EXPECT_TRUE(warnings_.empty()) << warnings_[0];
}

TEST_F(LibraryTest, AShippedTuningUnderOtherSoftKeysWarnsAndTuneReverifiesItInTheUserDatabase) {
  ASSERT_TRUE(tuned_) << "the sweep of " << kSpec << " found no winner";
  const std::filesystem::path system = folder_ / "system.db";
  std::filesystem::copy_file(suite_folder_ / "tuned.db", system);
  {  // Shipped from a machine with another driver.
    const auto db = cache::Database::open(system.string());
    cache::TuningRecord tuning = db->tunings().at(0);
    tuning.soft_keys.driver_version = 1000;
    db->store_tuning(tuning);
  }
  Options o = options();
  o.system_database_path = system.string();
  Result<std::unique_ptr<Library>> library = Library::open(o);
  ASSERT_TRUE(library.ok()) << library.status().message();
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kSpec);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_TRUE(kernel.value()->tuned());
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("under other soft keys (driver 1.0 -> "), std::string::npos)
      << warnings_[0];
  library.value().reset();

  const auto user = cache::Database::open(database_);
  ASSERT_EQ(user->misses().size(), 1u) << "noted in the user's database for tune --misses";
  const auto shipped = cache::Database::open(system.string(), cache::OpenMode::read_only);
  TuneOptions tune_options;
  tune_options.system = shipped.get();
  const TuneReport reverified = tune(parse_spec(kSpec), *user, tune_options);
  ASSERT_EQ(reverified.reverified.size(), 1u);
  EXPECT_FALSE(reverified.from_system);
  ASSERT_TRUE(reverified.winner_recheck_rel_err) << "verified again on new inputs";
  EXPECT_LE(*reverified.winner_recheck_rel_err, 1e-5);
  EXPECT_LT(reverified.tuning_seconds, 10.0) << "the winner and the runner-up, not a new sweep";
  ASSERT_EQ(user->tunings().size(), 1u) << "adopted by the user's database";
  EXPECT_EQ(user->tunings()[0].soft_keys, require_device().soft_keys);
  EXPECT_EQ(shipped->tunings()[0].soft_keys.driver_version, 1000) << "the system file stays";
}

TEST_F(LibraryTest, AWarningCallbackMayLoadFromTheSameLibrary) {
  Library* library = nullptr;
  std::vector<std::string> seen;
  Options o = options();
  o.on_warning = [&](const std::string& warning) {
    seen.push_back(warning);
    // Under the library's lock this would deadlock: the callback runs after the load's work.
    if (seen.size() == 1) {
      EXPECT_TRUE(library->load("linear(m=64, n=96, k=32) -> relu").ok());
    }
  };
  Result<std::unique_ptr<Library>> opened = Library::open(o);
  ASSERT_TRUE(opened.ok());
  library = opened.value().get();
  ASSERT_TRUE(library->load("linear(m=64, n=64, k=64) -> relu").ok());
  ASSERT_EQ(seen.size(), 2u) << "both specs were never tuned";
  EXPECT_NE(seen[1].find("linear(m=64, n=96, k=32)"), std::string::npos) << seen[1];
}

TEST_F(LibraryTest, AnotherChainDoesNotBorrow) {
  tune_into_database();
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  Result<std::shared_ptr<const Kernel>> kernel =
      library.value()->load("linear(m=256, n=512, k=128) -> bias -> relu");
  ASSERT_TRUE(kernel.ok());
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("the default configuration"), std::string::npos) << warnings_[0];
}

TEST_F(LibraryTest, RepeatedLoadReturnsTheSameKernelInUnderAMicrosecond) {
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  Result<std::shared_ptr<const Kernel>> first = library.value()->load(kSpec);
  ASSERT_TRUE(first.ok());
  constexpr int kLoads = 100000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kLoads; ++i) ASSERT_EQ(library.value()->load(kSpec).value(), first.value());
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      kLoads;
  EXPECT_LT(us, 1.0);
}

TEST_F(LibraryTest, BadArgumentsAreRefusedWithTheirName) {
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kSpec);
  ASSERT_TRUE(kernel.ok());
  ProblemData data(parse_spec(kSpec), 1, stream_);
  const LaunchArgs& args = data.launch_args();
  Arguments good{{args.tensors[0], args.tensors[1], args.tensors[2]}, data.output(), {}, {}};

  Arguments missing = good;
  missing.tensors.pop_back();
  Status status = kernel.value()->launch(stream_, missing);
  EXPECT_EQ(status.code(), StatusCode::invalid_argument);
  EXPECT_NE(status.message().find("takes 3 tensors (x, weight, bias), got 2"), std::string::npos)
      << status.message();

  Arguments null_bias = good;
  null_bias.tensors[2] = nullptr;
  status = kernel.value()->launch(stream_, null_bias);
  EXPECT_EQ(status.code(), StatusCode::invalid_argument);
  EXPECT_NE(status.message().find("'bias'"), std::string::npos) << status.message();

  Arguments misaligned = good;
  misaligned.tensors[1] = args.tensors[1] + 1;
  status = kernel.value()->launch(stream_, misaligned);
  EXPECT_EQ(status.code(), StatusCode::invalid_argument);
  EXPECT_NE(status.message().find("'weight'"), std::string::npos) << status.message();

  Arguments scalars = good;
  scalars.scalars = {1.0f};
  EXPECT_EQ(kernel.value()->launch(stream_, scalars).code(), StatusCode::invalid_argument);

  Arguments unchanged = good;
  unchanged.unchanged = {3};
  status = kernel.value()->launch(stream_, unchanged);
  EXPECT_EQ(status.code(), StatusCode::invalid_argument);
  EXPECT_NE(status.message().find("unchanged tensor 3"), std::string::npos) << status.message();
  unchanged.unchanged = {1};  // a kernel that prepares nothing has nothing to reuse
  EXPECT_TRUE(kernel.value()->launch(stream_, unchanged).ok());
  EXPECT_TRUE(kernel.value()->launch(stream_, good).ok());
}

TEST_F(LibraryTest, BadSpecIsInvalidSpecPointingAtTheCharacter) {
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load("linear(m=4, n=4) -> relu");
  ASSERT_FALSE(kernel.ok());
  EXPECT_EQ(kernel.status().code(), StatusCode::invalid_spec);
  EXPECT_NE(kernel.status().message().find('^'), std::string::npos);
}

}  // namespace
}  // namespace fusetune

namespace fusetune {
namespace {

TEST(LibraryWithoutGpuTest, OpenSaysThatItNeedsAGpuAndWhatStillWorks) {
  if (probe_device().device) GTEST_SKIP() << "this machine has a GPU";
  Options options;
  options.database_path = (std::filesystem::path(::testing::TempDir()) /
                           ("no_gpu_" + std::to_string(std::random_device{}()) + ".db"))
                              .string();
  Result<std::unique_ptr<Library>> library = Library::open(options);
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.status().code(), StatusCode::no_device);
  EXPECT_NE(library.status().message().find("--compile-only"), std::string::npos)
      << library.status().message();
  std::filesystem::remove(options.database_path);
}

TEST(LibraryOpenTest, AFileThatIsNotADatabaseIsReportedAndLeftAlone) {
  const std::filesystem::path path = std::filesystem::path(::testing::TempDir()) /
                                     ("notes_" + std::to_string(std::random_device{}()) + ".txt");
  { std::ofstream(path) << "my notes, not a database\n"; }
  Options options;
  options.database_path = path.string();
  Result<std::unique_ptr<Library>> library = Library::open(options);
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.status().code(), StatusCode::database_error);
  EXPECT_NE(library.status().message().find(path.string()), std::string::npos);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "my notes, not a database\n");
  std::filesystem::remove(path);
}

TEST(LibraryOpenTest, ASystemDatabaseThatIsNotOneIsReportedBeforeTheUsersIsCreated) {
  const std::filesystem::path folder = std::filesystem::path(::testing::TempDir()) /
                                       ("system_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(folder);
  { std::ofstream(folder / "system.db") << "my notes, not a database\n"; }
  Options options;
  options.database_path = (folder / "user.db").string();
  options.system_database_path = (folder / "system.db").string();
  Result<std::unique_ptr<Library>> library = Library::open(options);
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.status().code(), StatusCode::database_error);
  EXPECT_NE(library.status().message().find("system tuning database"), std::string::npos)
      << library.status().message();
  EXPECT_EQ(file_text(folder / "system.db"), "my notes, not a database\n");
  EXPECT_FALSE(std::filesystem::exists(folder / "user.db"));
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace fusetune

namespace fusetune {
namespace {

TEST(LibraryOpenTest, AnUnknownPrecisionIsRefusedWithTheChoices) {
  Options options;
  options.precision = "bf17";
  Result<std::unique_ptr<Library>> library = Library::open(options);
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(library.status().message().find("fp32, tf32, 3xtf32"), std::string::npos)
      << library.status().message();
}

TEST(LibraryOpenTest, ANegativeToleranceIsRefused) {
  Options options;
  options.precision = "auto";
  options.tolerance = -1e-5;
  Result<std::unique_ptr<Library>> library = Library::open(options);
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(library.status().message().find("not a positive number"), std::string::npos)
      << library.status().message();
}

}  // namespace
}  // namespace fusetune
