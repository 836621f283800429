// A tuning database as a sweep leaves it, made without a GPU for tests of the commands that read
// one: real configurations of a spec's search space on sm_90, stored with made-up times in which
// one tunable, gemm_simt.bk, decides the time (each doubling of it doubles the time), and a
// candidate of each fate: timed, screened out, over tolerance and failed.
#pragma once

#include <fmt/format.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cache/database.h"
#include "generator/device_limits.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"

namespace fusetune::testing {

struct StoredSweep {
  std::string spec;    // canonical
  std::string winner;  // the fastest timed candidate
  double winner_ms = 0;
  int candidates = 0;
  int failed = 0, over_tolerance = 0, screened = 0;
};

// The tunable that decides the made-up times.
inline constexpr const char* kDecidingTunable = "gemm_simt.bk";

inline std::optional<int> setting(const KernelConfig& config, const std::string& tunable) {
  for (const std::string& s : tunable_settings(config))
    if (s.starts_with(tunable + "=")) return std::stoi(s.substr(tunable.size() + 1));
  return std::nullopt;
}

// Stores a tuning of `spec_text` at fp32 on a made-up H100 into the database at `path`: the
// first `count` candidates of its space that set kDecidingTunable.
inline StoredSweep store_sweep(const std::string& path, const std::string& spec_text,
                               int count = 40) {
  const Spec spec = parse_spec(spec_text);
  const DeviceLimits limits = *DeviceLimits::for_arch("sm_90");
  StoredSweep sweep;
  sweep.spec = spec.canonical();
  std::vector<cache::CandidateRecord> rows;
  for (const Candidate& c : search_space(spec, limits, Precision::fp32)) {
    const std::optional<int> decider = setting(c.config, kDecidingTunable);
    if (!decider || static_cast<int>(rows.size()) == count) continue;
    const int i = static_cast<int>(rows.size());
    cache::CandidateRecord row;
    row.name = c.name;
    row.config_json = config_json(c.config);
    row.registers = 64;
    row.smem_bytes = 8192;
    row.spill_bytes = 0;
    row.measured_at = "2026-12-01T10:00:00Z";
    if (i % 13 == 3) {
      row.outcome = "compile_error";
      row.message = "made up";
      ++sweep.failed;
    } else if (i % 13 == 5) {
      row.outcome = "wrong_result";
      row.rel_err = 0.5;
      ++sweep.over_tolerance;
    } else {
      row.outcome = i % 4 == 1 ? "slower" : "ok";
      row.time_ms = *decider / 8.0 * (1 + 0.01 * (i % 7));
      row.rel_err = 1e-7;
      if (row.outcome == "slower") ++sweep.screened;
      if (row.outcome == "ok" && (sweep.winner.empty() || *row.time_ms < sweep.winner_ms)) {
        sweep.winner = row.name;
        sweep.winner_ms = *row.time_ms;
      }
    }
    rows.push_back(std::move(row));
  }
  sweep.candidates = static_cast<int>(rows.size());
  const auto db = cache::Database::open(path);
  cache::TuningRecord tuning;
  tuning.key = {.signature = spec.signature(),
                .precision = "fp32",
                .device_name = "NVIDIA H100 80GB HBM3",
                .arch = "sm_90",
                .sm_count = 132,
                .nvrtc_version = "13.0",
                .generator_version = "0.1.0+test"};
  tuning.spec = spec.canonical();
  tuning.soft_keys = {.driver_version = 580};
  tuning.winner = sweep.winner;
  tuning.winner_time_ms = sweep.winner_ms;
  tuning.winner_rel_err = 1e-7;
  for (const cache::CandidateRecord& row : rows)
    if (row.name == sweep.winner) tuning.winner_config_json = row.config_json;
  tuning.tuning_seconds = 12.5;
  tuning.created_at = tuning.updated_at = "2026-12-01T10:00:00Z";
  db->write_atomically([&] {
    const std::int64_t id = db->store_tuning(tuning);
    for (const cache::CandidateRecord& row : rows) db->store_candidate(id, row);
  });
  return sweep;
}

}  // namespace fusetune::testing
