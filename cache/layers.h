// Layered tuning databases: a team's read-only *system* database (installed with the library, or
// on a shared file system) under each user's writable one. Lookups read the user database first,
// then the system one; every write goes to the user database, and the system file is only ever
// opened read-only.
//
// Thread safety: as Database, one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/database.h"

namespace fusetune::cache {

enum class Layer { user, system };

std::string_view to_string(Layer layer);  // "user", "system"

struct LayeredTuning {
  TuningRecord record;  // record.id is the id in its own layer's database
  Layer layer;
};

class Layers {
 public:
  // `user` must not be null (it may be open read-only, for commands that only read); `system` is
  // null where there is no system layer. The system layer's cubins are used only when
  // `trust_system_binaries`: a shared file anyone with write access could have changed is
  // otherwise a source of configurations and timings, whose kernels are compiled from source into
  // the user database (as an import's are).
  Layers(std::unique_ptr<Database> user, std::unique_ptr<Database> system,
         bool trust_system_binaries = false);

  // $FUSETUNE_SYSTEM_DB if set and not empty, else none.
  static std::optional<std::string> default_system_path();
  // Whether $FUSETUNE_TRUST_SYSTEM_BINARIES is on (environment_flag.h).
  static bool default_trust_system_binaries();
  // Opens the system database at `path` read-only (OpenMode::immutable: it leaves no file beside
  // it, and works where the user cannot write); null when `path` is none or names no file (a
  // system layer is optional). Throws database_error, with Database::open's reason and how to go
  // without one, when the file is there but cannot be used.
  static std::unique_ptr<Database> open_system(const std::optional<std::string>& path);

  // The tuning under exactly `key`: the user's if it has one, else the system's.
  std::optional<LayeredTuning> find_tuning(const TuningKey& key);
  // The tuning under `key` that has a winner: the user's, else the system's (a user tuning with
  // no winner yet, from a compile-only or failed sweep, does not hide a system winner).
  std::optional<LayeredTuning> find_winner(const TuningKey& key);
  // The intact binary under `key`: the user's, else the system's when trusted.
  std::optional<BinaryRecord> find_binary(const std::string& key);
  // Every tuning of both layers: the user's, then the system's whose key the user has not tuned
  // (a user tuning hides the system one of the same key); each layer most recently updated first.
  std::vector<LayeredTuning> tunings();
  // The same merge of two lists already read (for callers that read each layer themselves).
  static std::vector<LayeredTuning> merge(std::vector<TuningRecord> user,
                                          std::vector<TuningRecord> system);

  // Where writes go: tuning results, compiled cubins, misses.
  Database& user() { return *user_; }
  // The system layer, or null.
  Database* system() { return system_.get(); }

 private:
  std::unique_ptr<Database> user_;
  std::unique_ptr<Database> system_;
  bool trust_system_binaries_;
};

}  // namespace fusetune::cache
