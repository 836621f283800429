#include "tuner/candidate_result.h"

#include <algorithm>

#include "cache/winner_rule.h"

namespace fusetune {

cache::CandidateRecord to_record(const CandidateResult& r, const std::string& binary_key) {
  cache::CandidateRecord record;
  record.name = r.name;
  record.config_json = config_json(r.config);
  record.outcome = std::string(to_string(r.outcome));
  record.time_ms = r.time_ms;
  record.rel_err = r.rel_err;
  record.time_noise = r.time_noise;
  record.registers = r.registers;
  record.smem_bytes = r.smem_bytes;
  record.spill_bytes = r.spill_bytes;
  record.message = r.message;
  record.binary_key = binary_key;
  return record;
}

CandidateResult from_record(const cache::CandidateRecord& record, const Spec& spec,
                            const DeviceLimits& limits) {
  CandidateResult r;
  r.name = record.name;
  r.config = validated_config(spec, limits, record.config_json).config;
  r.outcome = outcome_from_string(record.outcome).value_or(Outcome::fault);
  r.time_ms = record.time_ms;
  r.rel_err = record.rel_err;
  r.time_noise = record.time_noise;
  r.registers = record.registers;
  r.smem_bytes = record.smem_bytes;
  r.spill_bytes = record.spill_bytes;
  r.message = record.message;
  return r;
}

std::vector<CandidateResult> stored_results(const std::vector<cache::CandidateRecord>& records,
                                            const Spec& spec, const DeviceLimits& limits) {
  std::vector<CandidateResult> results;
  for (const cache::CandidateRecord& record : records) {
    try {
      results.push_back(from_record(record, spec, limits));
    } catch (const Error&) {  // a configuration the generator refuses: never run, never shown
    }
  }
  return results;
}

void sort_results(std::vector<CandidateResult>& results, const std::string& incumbent) {
  auto rank = [](const CandidateResult& r) {
    return r.outcome == Outcome::ok ? 0 : r.outcome == Outcome::slower ? 1 : 2;
  };
  std::stable_sort(results.begin(), results.end(), [&](const auto& a, const auto& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (rank(a) < 2 && a.time_ms != b.time_ms) return a.time_ms < b.time_ms;
    if (a.outcome != b.outcome) return a.outcome < b.outcome;
    return a.name < b.name;
  });
  // The winner leads the finalists, as the database chooses it.
  std::vector<cache::TimedCandidate> timed;
  for (const CandidateResult& r : results) {
    if (r.outcome != Outcome::ok || !r.time_ms) break;
    timed.push_back({r.name, *r.time_ms, r.time_noise});
  }
  if (const std::optional<std::size_t> winner = cache::choose_winner(timed, incumbent);
      winner && *winner > 0)
    std::rotate(results.begin(), results.begin() + static_cast<std::ptrdiff_t>(*winner),
                results.begin() + static_cast<std::ptrdiff_t>(*winner) + 1);
}

}  // namespace fusetune
