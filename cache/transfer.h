// Moving tuning results between files: exporting a database (or one spec's part of it) to a
// portable JSON file or a fresh database file, and importing or merging such a file into a
// database. A file is either written whole or not at all, and a database either takes all of an
// import or none of it.
#pragma once

#include <string>

#include "cache/database.h"
#include "cache/merge.h"

namespace fusetune::cache {

struct ExportOptions {
  std::string path;            // FILE: a database when it ends in ".db", JSON otherwise
  std::string signature;       // only the tunings of this signature, when not empty
  bool with_binaries = false;  // JSON only: a database copy always has its candidates' binaries
  bool force = false;          // replace FILE when it exists
};

struct ExportSummary {
  int tunings = 0;
  int candidates = 0;
  int binaries = 0;
};

// Writes the tunings of `source` to `options.path` through a temporary file beside it, renamed
// into place once complete. Throws fusetune::Error when FILE exists (without `force`) or is the
// database itself, or cannot be written; FILE is then as it was.
ExportSummary export_tunings(Database& source, const ExportOptions& options);

// Merges the fusetune database at `other` (opened read-only, never changed) into the database
// at `target` (created if absent), in one transaction, as `options` allow (merge.h: no cubins
// unless trusted; every tuning checked before the target is opened). Throws when `other` is
// missing, not a fusetune database, newer than this fusetune, the target itself, or holds a
// tuning the checks refuse; the target is then as it was.
MergeSummary merge_database_file(const std::string& other, const std::string& target,
                                 const MergeOptions& options = {});

// Imports `file`, a JSON export or a fusetune database (then as merge_database_file), into the
// database at `target`. A JSON file is read and checked whole (its format, then each tuning as
// merge.h checks it) before the database is opened, and merged in one transaction: a bad file
// changes nothing.
MergeSummary import_file(const std::string& file, const std::string& target,
                         const MergeOptions& options = {});

}  // namespace fusetune::cache
