// How the cache commands show a stored tuning: as JSON, and as `cache show` prints it (a heading,
// then a table of every candidate, best first).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cache/database.h"

namespace fusetune::cli {

// The spec's work, for TFLOP/s; 0 when the stored text no longer parses.
double flops_of(const std::string& spec);

// Why the tuning is stale for this build (a hard key, the generator or NVRTC version, differs);
// "" when this build uses it.
std::string hard_key_problem(const cache::TuningRecord& tuning);

// What differs between the tuning's soft keys (cache/soft_keys.h) and those of this machine's GPU
// of its key; nullopt when this machine has no such GPU (or none at all).
std::optional<std::vector<std::string>> soft_key_changes_here(const cache::TuningRecord& tuning);

// A tuning key's fields: signature, precision, device, arch, sm_count, nvrtc_version,
// generator_version.
nlohmann::json key_json(const cache::TuningKey& key);

// The tuning's key, winner and times (as `cache ls --json` lists them), "stale": the hard key
// that differs, or null, and its soft keys with "soft_key_changes" (null: no such GPU here).
nlohmann::json tuning_json(const cache::TuningRecord& tuning);
// Why the stored configuration `config_json` cannot serve `tuning`: validated_config's reason, for
// the tuning's spec on its key's arch and SM count; "" when it can.
std::string config_refusal(const cache::TuningRecord& tuning, const std::string& config_json);

// Every candidate of `tuning` as `tune --json` reports it, with when it was measured; one whose
// configuration is refused (config_refusal) has a null "config" and "config_refused": the reason.
nlohmann::json candidates_json(const cache::TuningRecord& tuning,
                               const std::vector<cache::CandidateRecord>& candidates, double flops);

// The spec, the key, whether its hard keys match this build, its soft keys and whether they
// match this machine's GPU, when and how long it was tuned, and the winner; ends in a blank line.
std::string tuning_heading(const cache::TuningRecord& tuning);
// One row per candidate in the order given: rank, name, outcome, time, TFLOP/s, error, resources,
// and the first line of the message.
std::string candidate_table(const std::vector<cache::CandidateRecord>& candidates, double flops);

}  // namespace fusetune::cli
