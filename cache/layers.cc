#include "cache/layers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "cache/environment_flag.h"
#include "fusetune/status.h"

namespace fusetune::cache {

std::string_view to_string(Layer layer) { return layer == Layer::user ? "user" : "system"; }

Layers::Layers(std::unique_ptr<Database> user, std::unique_ptr<Database> system,
               bool trust_system_binaries)
    : user_(std::move(user)),
      system_(std::move(system)),
      trust_system_binaries_(trust_system_binaries) {}

std::optional<std::string> Layers::default_system_path() {
  const char* path = std::getenv("FUSETUNE_SYSTEM_DB");
  if (path == nullptr || *path == '\0') return std::nullopt;
  return path;
}

bool Layers::default_trust_system_binaries() {
  return environment_flag("FUSETUNE_TRUST_SYSTEM_BINARIES");
}

std::unique_ptr<Database> Layers::open_system(const std::optional<std::string>& path) {
  if (!path || !Database::exists(*path)) return nullptr;
  try {
    return Database::open(*path, OpenMode::immutable);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("the system tuning database cannot be used: {}. To go "
                                      "without it, unset $FUSETUNE_SYSTEM_DB (or the system "
                                      "database path or --system given)",
                                      e.what()));
  }
}

std::optional<LayeredTuning> Layers::find_tuning(const TuningKey& key) {
  if (std::optional<TuningRecord> record = user_->find_tuning(key))
    return LayeredTuning{std::move(*record), Layer::user};
  if (!system_) return std::nullopt;
  if (std::optional<TuningRecord> record = system_->find_tuning(key))
    return LayeredTuning{std::move(*record), Layer::system};
  return std::nullopt;
}

std::optional<LayeredTuning> Layers::find_winner(const TuningKey& key) {
  std::optional<TuningRecord> record = user_->find_tuning(key);
  if (record && !record->winner.empty()) return LayeredTuning{std::move(*record), Layer::user};
  if (system_) record = system_->find_tuning(key);
  if (system_ && record && !record->winner.empty())
    return LayeredTuning{std::move(*record), Layer::system};
  return std::nullopt;
}

std::optional<BinaryRecord> Layers::find_binary(const std::string& key) {
  if (std::optional<BinaryRecord> binary = user_->find_binary(key)) return binary;
  return system_ && trust_system_binaries_ ? system_->find_binary(key) : std::nullopt;
}

std::vector<LayeredTuning> Layers::tunings() {
  return merge(user_->tunings(), system_ ? system_->tunings() : std::vector<TuningRecord>{});
}

std::vector<LayeredTuning> Layers::merge(std::vector<TuningRecord> user,
                                         std::vector<TuningRecord> system) {
  std::vector<LayeredTuning> all;
  all.reserve(user.size() + system.size());
  for (TuningRecord& record : user) all.push_back({std::move(record), Layer::user});
  const auto user_has = [&](const TuningKey& key) {
    return std::ranges::any_of(all, [&](const LayeredTuning& t) { return t.record.key == key; });
  };
  for (TuningRecord& record : system)
    if (!user_has(record.key)) all.push_back({std::move(record), Layer::system});
  return all;
}

}  // namespace fusetune::cache
