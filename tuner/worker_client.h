// The tuner's side of fusetune-worker: starts it, sends requests, waits for replies with a
// time limit, and starts a fresh worker (set up as before) after one dies or hangs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "tuner/worker_protocol.h"

namespace fusetune {

// A fresh 64-bit seed for a worker's inputs.
std::uint64_t random_seed();

class WorkerClient {
 public:
  // `log_path` receives the worker's standard error.
  WorkerClient(std::string worker_path, SetupRequest setup, std::string log_path);
  ~WorkerClient();
  WorkerClient(const WorkerClient&) = delete;
  WorkerClient& operator=(const WorkerClient&) = delete;

  // Starts the worker if none runs and sends it the setup without waiting for it, so that its
  // set-up (context, inputs, fp64 references) overlaps what the caller does next. Throws
  // Error(internal) when the worker cannot be started.
  void launch();

  // Starts the worker if none runs and waits until it is set up. Returns the device it found;
  // throws Error(no_device or internal) with the worker's message when setup fails.
  std::string start();

  // Runs one candidate. A worker that does not answer within `timeout_s` is killed (timeout);
  // one that dies answers fault. Either way the next call starts a new worker.
  RunReply run(const RunRequest& request, double timeout_s);

  // Fresh inputs for the following runs (and for any restarted worker).
  void reseed(std::uint64_t seed);

  // The inputs for the winner's re-check: those drawn at setup with the setup's recheck_seed
  // (a swap, where this worker drew them), else fresh ones with a new seed.
  void reseed_for_recheck();

 private:
  void stop();
  void send(const std::string& line);
  // The next line from the worker, or nullopt when it closed its output or the time ran out.
  std::optional<std::string> receive(double timeout_s);
  std::string log_tail() const;

  std::string worker_path_;
  SetupRequest setup_;
  std::string log_path_;
  std::string device_;
  pid_t pid_ = -1;
  int to_worker_ = -1;
  int from_worker_ = -1;
  bool setup_pending_ = false;  // sent, its reply not yet read
  std::string buffered_;
};

}  // namespace fusetune
