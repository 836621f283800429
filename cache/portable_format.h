// The portable export of tuning results: a JSON document that carries tunings, every candidate
// row and optionally the cubins, losslessly, from one database to another.
//
//   {"format": "fusetune-tunings", "version": 1, "exported_at": "2025-01-31T12:00:00Z",
//    "tunings": [{"signature": ..., <every TuningRecord field but id and candidate_count>,
//                 "candidates": [{<every CandidateRecord field>}, ...]}, ...],
//    "binaries": [{"key": ..., "arch": ..., "nvrtc_version": ..., "registers": ...,
//                  "smem_bytes": ..., "spill_bytes": ..., "log": ..., "sha256": <of the cubin>,
//                  "cubin_base64": ...}, ...]}
//
// Configurations stay the JSON text the database holds ("config_json"), so that they come back
// byte for byte.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cache/database.h"

namespace fusetune::cache {

inline constexpr std::string_view kPortableFormat = "fusetune-tunings";
inline constexpr int kPortableVersion = 1;  // the newest this fusetune reads and the one it writes
// The largest document read: an export of thousands of tunings with their cubins is tens of MB.
inline constexpr std::size_t kPortableMaxBytes = std::size_t{1} << 30;

struct PortableTuning {
  TuningRecord tuning;  // id and candidate_count are not carried
  std::vector<CandidateRecord> candidates;
};

struct PortableExport {
  std::string exported_at;  // UTC, as the database's timestamps
  std::vector<PortableTuning> tunings;
  std::vector<BinaryRecord> binaries;
};

// Reads the tunings of `signature` (every tuning when it is empty) with all their candidate rows
// from `db`, and with `with_binaries` the intact binaries those rows refer to.
PortableExport collect_export(Database& db, const std::string& signature, bool with_binaries);

// The JSON document for `data`.
std::string to_portable_json(const PortableExport& data);

// Parses and checks a document: its format and version, and every field's presence, type and
// value. Throws fusetune::Error (invalid_argument) whose message starts with `source` (the file's
// name), names the entry and field at fault, and says what to do.
PortableExport parse_portable_json(std::string_view text, const std::string& source);

}  // namespace fusetune::cache
