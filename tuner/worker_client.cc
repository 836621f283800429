#include "tuner/worker_client.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "fusetune/status.h"

extern char** environ;

namespace fusetune {
namespace {

constexpr double kSetupTimeoutS = 120;  // context creation plus the fp64 reference

[[noreturn]] void fail(const std::string& message) { throw Error(StatusCode::internal, message); }

}  // namespace

std::uint64_t random_seed() {
  std::random_device device;
  return device() | (std::uint64_t{device()} << 32);
}

WorkerClient::WorkerClient(std::string worker_path, SetupRequest setup, std::string log_path)
    : worker_path_(std::move(worker_path)),
      setup_(std::move(setup)),
      log_path_(std::move(log_path)) {}

WorkerClient::~WorkerClient() {
  if (pid_ > 0) {
    try {
      send(R"({"cmd": "quit"})");
    } catch (...) {
    }
    stop();
  }
}

void WorkerClient::launch() {
  if (pid_ > 0) return;
  // A worker that dies closes its pipe; writing to it must fail, not kill the tuner.
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
    signal(SIGPIPE, SIG_IGN);
  int input[2], output[2];
  if (pipe2(input, O_CLOEXEC) != 0 || pipe2(output, O_CLOEXEC) != 0)
    fail(fmt::format("cannot create pipes for the worker: {}", std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, input[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  char* argv[] = {worker_path_.data(), nullptr};
  const int spawned = posix_spawn(&pid_, worker_path_.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(input[0]);
  close(output[1]);
  to_worker_ = input[1];
  from_worker_ = output[0];
  if (spawned != 0) {
    pid_ = -1;
    close(to_worker_);
    close(from_worker_);
    fail(fmt::format("cannot start {}: {}", worker_path_, std::strerror(spawned)));
  }
  send(encode_setup(setup_));
  setup_pending_ = true;
}

std::string WorkerClient::start() {
  launch();
  if (!setup_pending_) return device_;
  setup_pending_ = false;
  const std::optional<std::string> line = receive(kSetupTimeoutS);
  if (!line) {
    stop();
    fail(fmt::format("the worker died while setting up the problem{}", log_tail()));
  }
  const nlohmann::json reply = nlohmann::json::parse(*line, nullptr, false);
  if (reply.is_discarded() || !reply.value("ok", false)) {
    const std::string why = reply.is_discarded() ? *line : reply.value("error", *line);
    stop();
    const StatusCode code = why.find("no usable CUDA GPU") != std::string::npos
                                ? StatusCode::no_device
                                : StatusCode::internal;
    throw Error(code, "the worker could not set up the problem: " + why);
  }
  device_ = reply.value("device", "");
  return device_;
}

RunReply WorkerClient::run(const RunRequest& request, double timeout_s) {
  start();
  send(encode_run(request));
  const auto began = std::chrono::steady_clock::now();
  const std::optional<std::string> line = receive(timeout_s);
  if (!line) {
    const bool timed_out =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count() >=
        timeout_s;
    stop();
    RunReply reply;
    reply.outcome = timed_out ? Outcome::timeout : Outcome::fault;
    reply.message = timed_out
                        ? fmt::format("no answer within {:.0f} s; the worker was killed", timeout_s)
                        : "the worker died" + log_tail();
    return reply;
  }
  RunReply reply = decode_reply(*line);
  if (reply.outcome == Outcome::fault) stop();  // it exits by itself; reap it
  return reply;
}

void WorkerClient::reseed(std::uint64_t seed) {
  setup_.seed = seed;
  if (pid_ <= 0) return;  // a new worker starts from setup_
  start();                // a reply to the setup comes first
  send(encode_reseed(seed));
  const std::optional<std::string> line = receive(kSetupTimeoutS);
  if (!line) {
    stop();
    fail("the worker died while drawing new inputs" + log_tail());
  }
}

void WorkerClient::reseed_for_recheck() {
  const std::uint64_t seed = setup_.recheck_seed.value_or(random_seed());
  setup_.recheck_seed.reset();  // a worker started after this draws one set, as this one uses
  reseed(seed);
}

void WorkerClient::stop() {
  if (pid_ <= 0) return;
  setup_pending_ = false;
  close(to_worker_);
  close(from_worker_);
  to_worker_ = from_worker_ = -1;
  buffered_.clear();
  // Give it a moment to exit on its own (it does after "quit" or a fault), then kill it.
  for (int i = 0; i < 50; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    usleep(10000);
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void WorkerClient::send(const std::string& line) {
  const std::string message = line + '\n';
  std::size_t written = 0;
  while (written < message.size()) {
    const ssize_t n = write(to_worker_, message.data() + written, message.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("the worker stopped reading its requests" + log_tail());
    written += static_cast<std::size_t>(n);
  }
}

std::optional<std::string> WorkerClient::receive(double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    if (const std::size_t end = buffered_.find('\n'); end != std::string::npos) {
      std::string line = buffered_.substr(0, end);
      buffered_.erase(0, end + 1);
      return line;
    }
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd fd{from_worker_, POLLIN, 0};
    const int ready = poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char chunk[4096];
    const ssize_t n = read(from_worker_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    buffered_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string WorkerClient::log_tail() const {
  std::ifstream file(log_path_);
  std::stringstream text;
  text << file.rdbuf();
  std::string log = text.str();
  if (log.empty()) return "";
  if (log.size() > 2000) log = "..." + log.substr(log.size() - 2000);
  return "; its last messages:\n" + log;
}

}  // namespace fusetune
