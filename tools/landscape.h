// The tuning landscape of a stored tuning, as `fusetune cache plot` draws it: each candidate with
// the value it gave every tunable and what became of it, and per tunable how much its value
// mattered to the best time.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cache/database.h"

namespace fusetune::cli {

// What became of a candidate, as the picture tells them apart.
enum class Fate {
  winner,
  timed,           // "ok": verified and timed in full
  screened,        // "slower": verified, then left after a first timing far behind the best
  over_tolerance,  // "wrong_result": its error against fp64 was above the tolerance
  failed,          // compile_error, out_of_resources, fault, timeout: no time, no error
};

struct LandscapePoint {
  std::string name;
  std::string outcome;  // as stored: "ok", "slower", "wrong_result", ...
  Fate fate = Fate::failed;
  std::optional<double> time_ms;  // winner, timed and screened
  // "gemm_simt.bm" -> "128", and "family" -> "gemm_simt": every tunable its configuration sets.
  std::map<std::string, std::string> settings;
};

// A tunable that took more than one value among the candidates.
struct TunableAxis {
  std::string key;                  // "gemm_simt.bm"; "family" where several families ran
  std::vector<std::string> values;  // numbers in numeric order, then words in text order
  // How much the best time gets worse at the tunable's worst value: the slowest of the per-value
  // best times over the fastest (1 where fewer than two values have a time).
  double cost_of_worst_value = 1;
};

struct Landscape {
  std::vector<LandscapePoint> points;  // those whose configuration could be read
  std::vector<TunableAxis> axes;       // the costliest to get wrong first
  std::vector<std::string> fixed;      // "gemm_simt.stages=2": one value in every candidate
  int unreadable = 0;  // candidates whose stored configuration this build cannot read
  std::optional<double> fastest_ms;
  std::optional<double> slowest_ms;
};

// The landscape of `tuning` from its stored `candidates`.
Landscape landscape_of(const cache::TuningRecord& tuning,
                       const std::vector<cache::CandidateRecord>& candidates);

}  // namespace fusetune::cli
