// fusetune-worker: runs candidates on the GPU for the tuner (tuner/worker_protocol.h says how
// they talk). A candidate that faults poisons this process's CUDA context, so after a fault the
// worker replies and exits, and the tuner starts a new one.
#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "fusetune/status.h"
#include "generator/spec_parser.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/loaded_kernel.h"
#include "runtime/timing.h"
#include "tuner/problem_data.h"
#include "tuner/row_problems.h"
#include "tuner/worker_protocol.h"

namespace fusetune {
namespace {

using nlohmann::json;

// Whether the CUDA context still works after an error: a fault leaves it unusable.
bool context_healthy() {
  cudaGetLastError();
  void* probe = nullptr;
  if (cudaMalloc(&probe, 256) != cudaSuccess) return false;
  const bool healthy =
      cudaMemset(probe, 0, 256) == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess;
  cudaFree(probe);
  return healthy;
}

// The GPU's free memory; where it cannot be read, as much as there could be (the worker then
// keeps the re-check's inputs, as it would with room to spare).
std::size_t free_device_bytes() {
  std::size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
    cudaGetLastError();
    return std::numeric_limits<std::size_t>::max() / 2;
  }
  return free;
}

RunReply failure(Outcome outcome, std::string message) {
  RunReply reply;
  reply.outcome = outcome;
  reply.message = std::move(message);
  return reply;
}

class Session {
 public:
  explicit Session(const json& setup)
      : tolerance_(setup.at("tolerance").get<double>()),
        device_(require_device(setup.at("device").get<int>())) {
    check_cuda(cudaSetDevice(device_.ordinal), "selecting the CUDA device");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating a stream");
    timing_ = timing_from_json(setup.at("timing"));
    const Spec spec = parse_spec(setup.at("spec").get<std::string>());
    const std::size_t free_before = free_device_bytes();
    data_ = std::make_unique<RowProblems>(spec, setup.at("seed").get<std::uint64_t>(), stream_);
    const std::size_t problem_bytes = free_before - std::min(free_before, free_device_bytes());
    if (setup.contains("recheck_seed"))
      keep_recheck_data(spec, setup["recheck_seed"], problem_bytes);
    flusher_ = std::make_unique<L2Flusher>(device_.l2_bytes);
  }

  const DeviceInfo& device() const { return device_; }

  void reseed(std::uint64_t seed) {
    if (recheck_data_ && seed == recheck_seed_) {
      try {
        recheck_data_->finish_reference();
        data_ = std::move(recheck_data_);
        return;
      } catch (const Error& e) {
        std::cerr << "the re-check's inputs are drawn again: " << e.what() << std::endl;
      }
    }
    recheck_data_.reset();  // its memory may be what the refill needs
    data_->refill(seed);
  }

  // Draws the re-check's inputs now, the reference's host half in the background while
  // candidates run; where the GPU has no room for a second set, reseed draws them when asked,
  // as without a recheck_seed.
  void keep_recheck_data(const Spec& spec, std::uint64_t seed, std::size_t problem_bytes) {
    // A second set must leave as much again free, for candidates' workspaces and their modules.
    if (free_device_bytes() < 2 * problem_bytes) {
      std::cerr << "the re-check's inputs are drawn later: the GPU has no room for a second set"
                << std::endl;
      return;
    }
    try {
      recheck_data_ = std::make_unique<RowProblems>(spec, seed, stream_, /*host_part_later=*/true);
      recheck_seed_ = seed;
    } catch (const Error& e) {
      cudaGetLastError();  // an allocation failure is not sticky
      std::cerr << "the re-check's inputs are drawn later: " << e.what() << std::endl;
    }
  }

  RunReply run(const json& request) {
    const std::string name = request.at("name");
    std::ifstream file(request.at("cubin_path").get<std::string>(), std::ios::binary);
    const std::vector<char> cubin{std::istreambuf_iterator<char>(file), {}};
    const LaunchGeometry geometry = geometry_from_run(request);
    const FinishingPlan finishing = finishing_from_run(request);

    // Failures before the kernel runs are resource limits; failures while it runs are faults.
    std::optional<LoadedKernel> kernel;
    try {
      kernel.emplace(cubin, name, geometry, finishing);
    } catch (const Error& e) {
      return failure(context_healthy() ? Outcome::out_of_resources : Outcome::fault, e.what());
    }
    // Every problem (a bucket's verified row counts), each output poisoned first; the largest
    // error counts.
    RunReply reply;
    reply.rel_err = 0.0;
    for (const std::unique_ptr<ProblemData>& problem : data_->all()) {
      const int rows = problem->launch_args().rows;
      const std::string at = data_->all().size() > 1 ? fmt::format(" at {} rows", rows) : "";
      problem->poison_output();
      if (const cudaError_t error = kernel->launch(stream_, problem->launch_args());
          error != cudaSuccess)
        return failure(context_healthy() ? Outcome::out_of_resources : Outcome::fault,
                       fmt::format("launch{} refused: {}", at, cudaGetErrorString(error)));
      if (const cudaError_t error = cudaStreamSynchronize(stream_); error != cudaSuccess)
        return failure(Outcome::fault,
                       fmt::format("kernel failed{}: {}", at, cudaGetErrorString(error)));
      const Verification check = problem->verify();
      reply.rel_err = std::max(*reply.rel_err, check.rel_err);
      reply.non_finite += check.non_finite;
      if (!check.passed(tolerance_)) {
        reply.outcome = Outcome::wrong_result;
        reply.message = check.non_finite
                            ? fmt::format("{} outputs{} are NaN or infinite", check.non_finite, at)
                            : fmt::format("relative error {:.3g}{} exceeds {:.3g}", check.rel_err,
                                          at, tolerance_);
        return reply;
      }
    }
    TimingOptions timing =
        request.contains("timing") ? timing_from_json(request["timing"]) : timing_;
    if (request.contains("abandon_above_ms"))
      timing.abandon_above_ms = request["abandon_above_ms"].get<double>();
    const Timing t =
        measure([&](cudaStream_t s) { return kernel->launch(s, data_->timed().launch_args()); },
                stream_, timing, flusher_.get());
    reply.outcome = t.abandoned ? Outcome::slower : Outcome::ok;
    reply.time_ms = t.median_ms;
    reply.launches = t.launches;
    return reply;
  }

 private:
  double tolerance_;
  DeviceInfo device_;
  cudaStream_t stream_ = nullptr;
  TimingOptions timing_;
  std::unique_ptr<RowProblems> data_;
  std::unique_ptr<RowProblems> recheck_data_;  // drawn with recheck_seed_ at setup
  std::uint64_t recheck_seed_ = 0;
  std::unique_ptr<L2Flusher> flusher_;
};

void reply(const json& message) { std::cout << message.dump() << std::endl; }

int serve() {
  std::unique_ptr<Session> session;
  for (std::string line; std::getline(std::cin, line);) {
    json request;
    try {
      request = json::parse(line);
    } catch (const json::exception& e) {
      reply({{"ok", false}, {"error", std::string("malformed request: ") + e.what()}});
      continue;
    }
    const std::string command = request.value("cmd", "");
    try {
      if (command == "setup") {
        const auto start = std::chrono::steady_clock::now();
        session = std::make_unique<Session>(request);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        reply({{"ok", true}, {"device", session->device().description()}, {"setup_ms", ms}});
      } else if (command == "run" && session) {
        const RunReply result = session->run(request);
        std::cout << encode_reply(result) << std::endl;
        if (result.outcome == Outcome::fault) return 3;  // the context is gone
      } else if (command == "reseed" && session) {
        session->reseed(request.at("seed").get<std::uint64_t>());
        reply({{"ok", true}});
      } else if (command == "quit") {
        return 0;
      } else {
        reply({{"ok", false}, {"error", "unknown command or no setup yet: " + command}});
      }
    } catch (const std::exception& e) {
      if (command == "run") {
        const Outcome outcome = context_healthy() ? Outcome::out_of_resources : Outcome::fault;
        std::cout << encode_reply(failure(outcome, e.what())) << std::endl;
        if (outcome == Outcome::fault) return 3;
      } else {
        reply({{"ok", false}, {"error", e.what()}});
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace fusetune

int main() { return fusetune::serve(); }
