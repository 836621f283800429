// Messages between the tuner and fusetune-worker, one JSON object per line on the worker's
// stdin and stdout. The worker owns the GPU, so that a candidate that faults (and so poisons
// the CUDA context) or hangs takes down only the worker, which the tuner then restarts.
//
//   -> {"cmd": "setup", "spec": ..., "seed": ..., "device": 0, "tolerance": 1e-5, "timing": {...},
//       "recheck_seed": ... (optional: a second set of inputs, and its reference, drawn now)}
//   <- {"ok": true, "device": "NVIDIA H100 ...", "setup_ms": ...}  or  {"ok": false, "error": ...}
//   -> {"cmd": "run", "name": ..., "cubin_path": ..., "grid": [..], "block": [..], "smem": N,
//       "tensor_maps": [[tensor (-1: the output), rows, cols, box_rows, box_cols, dtype,
//                        round_to_tf32], ...],
//       "workspace_bytes": N, "cluster": N,
//       "row_grid": [tile_rows, tile_row_blocks, max_rows] (a bucket's kernel: RowGrid),
//       "finishing": [{"entry": ..., "grid": .., ...: a plan's later kernels}] (optional),
//       "main_output_offset": N (optional),
//       "abandon_above_ms": x (optional), "timing": {...} (optional)}
//   <- {"outcome": "ok", "time_ms": ..., "rel_err": ..., "launches": ...}, or a failure outcome
//      with "message"; after "fault" the worker exits.
//   -> {"cmd": "reseed", "seed": ...}   <- {"ok": true}  (at once for the setup's recheck_seed)
//   -> {"cmd": "quit"}
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "generator/kernel_source.h"
#include "runtime/timing.h"
#include "tuner/outcome.h"

namespace fusetune {

struct SetupRequest {
  std::string spec;  // canonical
  std::uint64_t seed = 0;
  int device = 0;
  double tolerance = 1e-5;
  TimingOptions timing;
  // Inputs for the winner's re-check, drawn at setup while the GPU waits for the first compiles
  // (the conv seed's fp64 reference takes most of a second); reseeding to it is then a swap.
  std::optional<std::uint64_t> recheck_seed;
};

struct RunRequest {
  std::string name;
  std::string cubin_path;
  LaunchGeometry geometry;
  std::optional<double> abandon_above_ms;
  std::optional<TimingOptions> timing;  // empty: the setup's
  FinishingPlan finishing = {};         // a plan's kernels after the main one
};

struct RunReply {
  Outcome outcome = Outcome::fault;
  std::optional<double> time_ms;
  std::optional<double> rel_err;
  std::int64_t non_finite = 0;
  int launches = 0;
  std::string message;
};

nlohmann::json timing_to_json(const TimingOptions& timing);
TimingOptions timing_from_json(const nlohmann::json& json);

nlohmann::json tensor_maps_to_json(const std::vector<TensorMapSpec>& maps);
std::vector<TensorMapSpec> tensor_maps_from_json(const nlohmann::json& json);
// The launch geometry of an encode_run message (its main kernel), and its finishing kernels.
LaunchGeometry geometry_from_run(const nlohmann::json& run_message);
FinishingPlan finishing_from_run(const nlohmann::json& run_message);

std::string encode_setup(const SetupRequest& request);
std::string encode_run(const RunRequest& request);
std::string encode_reseed(std::uint64_t seed);
std::string encode_reply(const RunReply& reply);
RunReply decode_reply(const std::string& line);  // throws Error(internal) on a malformed line

}  // namespace fusetune
