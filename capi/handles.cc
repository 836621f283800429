#include "capi/handles.h"

#include "cache/database.h"
#include "capi/last_error.h"

fusetune_library::fusetune_library(const char* database_path, int device, bool no_compile,
                                   fusetune_message_fn on_warning, void* user)
    : database_path_(database_path && *database_path ? database_path
                                                     : fusetune::cache::Database::default_path()),
      device_(device),
      no_compile_(no_compile),
      on_warning_(on_warning),
      user_(user) {
  // Opening the native precision's Library now checks the database and the device up front.
  library_for("", 0);
}

std::shared_ptr<fusetune::Library> fusetune_library::library_for(std::string_view precision,
                                                                 double tolerance) {
  const Key key(std::string(precision), tolerance);
  std::lock_guard lock(mutex_);
  if (const auto it = libraries_.find(key); it != libraries_.end()) return it->second;
  std::shared_ptr<fusetune::Library> library = open_library(key);
  libraries_.emplace(key, library);
  return library;
}

void fusetune_library::forget_libraries() {
  std::lock_guard lock(mutex_);
  libraries_.clear();
}

std::shared_ptr<fusetune::Library> fusetune_library::open_library(const Key& key) const {
  fusetune::Options options;
  options.database_path = database_path_;
  options.precision = key.first;
  options.tolerance = key.second;
  options.device = device_;
  options.no_compile = no_compile_;
  if (on_warning_)
    options.on_warning = [on_warning = on_warning_, user = user_](const std::string& message) {
      on_warning(message.c_str(), user);
    };
  fusetune::Result<std::unique_ptr<fusetune::Library>> opened = fusetune::Library::open(options);
  fusetune::capi::throw_unless_ok(opened.status());
  return std::move(opened.value());
}
