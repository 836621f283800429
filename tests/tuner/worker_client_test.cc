// The tuner's side of the worker protocol, against fake workers: small shell scripts that answer
// (or fail to answer) the way a real worker would, so that no GPU is needed.
#include "tuner/worker_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fusetune/status.h"
#include "tests/tuner/outcome_printer.h"

namespace fusetune {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kOkReply =
    R"({"outcome": "ok", "time_ms": 1.25, "rel_err": 1e-07, "launches": 20})";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

class WorkerClientTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "fusetune-worker-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes an executable fake worker. It appends a line to `starts` when it starts and each
  // request to `requests`; `$starts` holds how many times it has been started. It answers setup
  // with `setup_reply`, reseed with ok, and a run by running `on_run` (shell commands).
  std::string write_worker(const std::string& on_run,
                           const std::string& setup_reply = R"({"ok": true, "device": "fake"})") {
    const fs::path path = dir_ / "worker.sh";
    std::ofstream script(path);
    script << "#!/bin/sh\n"
           << "echo start >> '" << (dir_ / "starts").string() << "'\n"
           << "starts=$(wc -l < '" << (dir_ / "starts").string() << "')\n"
           << "while IFS= read -r line; do\n"
           << "  echo \"$line\" >> '" << (dir_ / "requests").string() << "'\n"
           << "  case \"$line\" in\n"
           << "    *'\"setup\"'*) echo '" << setup_reply << "' ;;\n"
           << "    *'\"run\"'*) " << on_run << " ;;\n"
           << "    *'\"reseed\"'*) echo '{\"ok\": true}' ;;\n"
           << "    *'\"quit\"'*) exit 0 ;;\n"
           << "  esac\n"
           << "done\n";
    script.close();
    fs::permissions(path, fs::perms::owner_all);
    return path.string();
  }

  int starts() const { return static_cast<int>(read_lines(dir_ / "starts").size()); }

  // The requests of one command ("setup", "run", ...) the workers received, parsed.
  std::vector<nlohmann::json> requests(const std::string& command) const {
    std::vector<nlohmann::json> found;
    for (const std::string& line : read_lines(dir_ / "requests")) {
      const nlohmann::json request = nlohmann::json::parse(line);
      if (request.value("cmd", "") == command) found.push_back(request);
    }
    return found;
  }

  // A fake worker whose first start dies on its first run; later ones answer runs.
  std::string worker_that_faults_first() {
    return write_worker(std::string("if [ \"$starts\" -eq 1 ]; then exit 3; fi; echo '") +
                        kOkReply + "'");
  }

  // Runs `worker` (from worker_that_faults_first) into its fault and then on a fresh worker;
  // returns the setups the workers received.
  std::vector<nlohmann::json> setups_across_a_restart(WorkerClient& worker) {
    EXPECT_EQ(worker.run(request_, 5).outcome, Outcome::fault);
    EXPECT_EQ(worker.run(request_, 5).outcome, Outcome::ok);
    return requests("setup");
  }

  WorkerClient client(const std::string& worker_path) {
    return WorkerClient(worker_path, setup_, (dir_ / "worker.log").string());
  }

  fs::path dir_;
  SetupRequest setup_{.spec = "linear(m=64, n=64, k=64) -> relu",
                      .seed = 7,
                      .device = 0,
                      .tolerance = 1e-5,
                      .timing = {},
                      .recheck_seed = 1234};
  RunRequest request_{.name = "ft_gemm_simt_64x64x16_w2x2_t8x4_s3_n_spread",
                      .cubin_path = "/nonexistent/kernel.cubin",
                      .geometry = {{1, 1, 1}, {128, 1, 1}, 26112, {}},
                      .abandon_above_ms = std::nullopt,
                      .timing = std::nullopt};
};

TEST_F(WorkerClientTest, StartSetsUpTheWorkerAndReturnsItsDevice) {
  WorkerClient worker = client(write_worker(std::string("echo '") + kOkReply + "'"));
  EXPECT_EQ(worker.start(), "fake");
  EXPECT_EQ(worker.start(), "fake") << "a running worker is not started again";
  EXPECT_EQ(starts(), 1);
  const std::vector<nlohmann::json> setups = requests("setup");
  ASSERT_EQ(setups.size(), 1u);
  EXPECT_EQ(setups[0].at("spec"), setup_.spec);
  EXPECT_EQ(setups[0].at("seed"), 7);
}

TEST_F(WorkerClientTest, LaunchSendsTheSetupWithoutWaitingAndTheFirstRunReadsItsReply) {
  // This worker takes a second to set up.
  WorkerClient worker =
      client(write_worker(std::string("echo '") + kOkReply + "'",
                          R"(' >/dev/null; sleep 1; echo '{"ok": true, "device": "slow"})"));
  const auto start = std::chrono::steady_clock::now();
  worker.launch();
  worker.launch();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.5);
  EXPECT_EQ(worker.run(request_, 5).time_ms, 1.25) << "the setup's reply is read first";
  EXPECT_EQ(worker.start(), "slow");
  EXPECT_EQ(starts(), 1) << "a launched worker is not launched again";
  EXPECT_EQ(requests("setup").size(), 1u);
}

TEST_F(WorkerClientTest, TheRecheckUsesTheInputsDrawnAtSetupAndARestartDrawsThemOnce) {
  WorkerClient worker = client(worker_that_faults_first());
  worker.start();
  EXPECT_EQ(requests("setup")[0].at("recheck_seed"), 1234);
  worker.reseed_for_recheck();
  const std::vector<nlohmann::json> reseeds = requests("reseed");
  ASSERT_EQ(reseeds.size(), 1u);
  EXPECT_EQ(reseeds[0].at("seed"), 1234);
  const std::vector<nlohmann::json> setups = setups_across_a_restart(worker);
  ASSERT_EQ(setups.size(), 2u);
  EXPECT_EQ(setups[1].at("seed"), 1234) << "the restarted worker runs on the re-check's inputs";
  EXPECT_FALSE(setups[1].contains("recheck_seed")) << "and draws no second set";
}

TEST_F(WorkerClientTest, RunReturnsTheWorkersReply) {
  WorkerClient worker = client(write_worker(std::string("echo '") + kOkReply + "'"));
  for (int i = 0; i < 3; ++i) {
    const RunReply reply = worker.run(request_, 5);
    EXPECT_EQ(reply.outcome, Outcome::ok);
    EXPECT_EQ(reply.time_ms, 1.25);
    EXPECT_EQ(reply.rel_err, 1e-7);
    EXPECT_EQ(reply.launches, 20);
  }
  EXPECT_EQ(starts(), 1) << "run starts the worker once and reuses it";
  const std::vector<nlohmann::json> runs = requests("run");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].at("name"), request_.name);
  EXPECT_EQ(runs[0].at("smem"), 26112);
}

TEST_F(WorkerClientTest, AWorkerThatHangsTimesOutAndTheNextRunStartsAFreshOne) {
  // The first worker never answers its run; the second does.
  WorkerClient worker = client(write_worker(
      std::string("if [ \"$starts\" -eq 1 ]; then exec sleep 100; fi; echo '") + kOkReply + "'"));
  const auto start = Clock::now();
  const RunReply hung = worker.run(request_, 0.5);
  EXPECT_EQ(hung.outcome, Outcome::timeout) << hung.message;
  EXPECT_NE(hung.message.find("no answer within"), std::string::npos) << hung.message;
  EXPECT_LT(seconds_since(start), 3.0) << "the hung worker is killed, not waited for";

  const RunReply next = worker.run(request_, 5);
  EXPECT_EQ(next.outcome, Outcome::ok) << next.message;
  EXPECT_EQ(starts(), 2);
  EXPECT_EQ(requests("setup").size(), 2u) << "the fresh worker is set up as the first was";
}

TEST_F(WorkerClientTest, AWorkerThatDiesIsAFaultAndTheNextRunRecovers) {
  WorkerClient worker = client(write_worker(
      std::string("if [ \"$starts\" -eq 1 ]; then echo 'illegal memory access' >&2; exit 3; fi; "
                  "echo '") +
      kOkReply + "'"));
  const auto start = Clock::now();
  const RunReply died = worker.run(request_, 10);
  EXPECT_EQ(died.outcome, Outcome::fault) << died.message;
  EXPECT_LT(seconds_since(start), 3.0)
      << "a closed pipe is noticed without waiting for the timeout";
  EXPECT_NE(died.message.find("the worker died"), std::string::npos) << died.message;
  EXPECT_NE(died.message.find("illegal memory access"), std::string::npos)
      << "quotes the worker's last messages: " << died.message;

  const RunReply next = worker.run(request_, 5);
  EXPECT_EQ(next.outcome, Outcome::ok) << next.message;
  EXPECT_EQ(starts(), 2);
}

TEST_F(WorkerClientTest, AFaultReplyRestartsTheWorkerForTheNextRun) {
  // A real worker exits after reporting a fault: its CUDA context is gone.
  WorkerClient worker = client(write_worker(
      std::string("if [ \"$starts\" -eq 1 ]; then echo '{\"outcome\": \"fault\", \"message\": "
                  "\"an illegal memory access\"}'; exit 0; fi; echo '") +
      kOkReply + "'"));
  const RunReply fault = worker.run(request_, 5);
  EXPECT_EQ(fault.outcome, Outcome::fault);
  EXPECT_EQ(fault.message, "an illegal memory access");
  EXPECT_EQ(worker.run(request_, 5).outcome, Outcome::ok);
  EXPECT_EQ(starts(), 2);
}

TEST_F(WorkerClientTest, OtherFailureOutcomesKeepTheWorker) {
  WorkerClient worker = client(write_worker(
      R"(echo '{"outcome": "wrong_result", "rel_err": 0.5, "message": "relative error 0.5"}')"));
  for (int i = 0; i < 2; ++i) {
    const RunReply reply = worker.run(request_, 5);
    EXPECT_EQ(reply.outcome, Outcome::wrong_result);
    EXPECT_EQ(reply.rel_err, 0.5);
  }
  EXPECT_EQ(starts(), 1);
}

TEST_F(WorkerClientTest, ARestartedWorkerGetsTheLatestSeed) {
  WorkerClient worker = client(worker_that_faults_first());
  worker.start();
  worker.reseed(99);
  const std::vector<nlohmann::json> reseeds = requests("reseed");
  ASSERT_EQ(reseeds.size(), 1u);
  EXPECT_EQ(reseeds[0].at("seed"), 99);
  const std::vector<nlohmann::json> setups = setups_across_a_restart(worker);
  ASSERT_EQ(setups.size(), 2u);
  EXPECT_EQ(setups[1].at("seed"), 99);
}

TEST_F(WorkerClientTest, SetupWithoutAGpuThrowsNoDevice) {
  WorkerClient worker = client(write_worker(
      "exit 1", R"({"ok": false, "error": "no usable CUDA GPU: driver version is insufficient"})"));
  try {
    worker.start();
    ADD_FAILURE() << "start() succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), StatusCode::no_device);
    EXPECT_NE(std::string(e.what()).find("no usable CUDA GPU: driver version is insufficient"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(WorkerClientTest, OtherSetupFailuresThrowInternalWithTheWorkersMessage) {
  WorkerClient worker = client(
      write_worker("exit 1", R"({"ok": false, "error": "out of memory for the reference"})"));
  try {
    worker.start();
    ADD_FAILURE() << "start() succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), StatusCode::internal);
    EXPECT_NE(std::string(e.what()).find("out of memory for the reference"), std::string::npos)
        << e.what();
  }
}

TEST_F(WorkerClientTest, AMissingWorkerIsAClearError) {
  const std::string path = (dir_ / "no-such-worker").string();
  WorkerClient worker = client(path);
  try {
    worker.start();
    ADD_FAILURE() << "start() succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), StatusCode::internal);
    const std::string message = e.what();
    EXPECT_NE(message.find("cannot start " + path), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace fusetune
