#include "cache/transfer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cache/file_checks.h"
#include "cache/portable_format.h"
#include "fusetune/status.h"

namespace fusetune::cache {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void refuse(const std::string& message) {
  throw Error(StatusCode::invalid_argument, message);
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code error;
  return fs::equivalent(a, b, error);
}

// A file written beside its destination and renamed over it once complete, so that readers of
// the destination never see half of it; removed (with SQLite's side files) when not kept.
class StagedFile {
 public:
  explicit StagedFile(const std::string& destination)
      : destination_(destination),
        path_(fmt::format("{}.partial-{}", destination, static_cast<long>(getpid()))) {
    remove_all();
  }
  ~StagedFile() {
    if (!kept_) remove_all();
  }
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  const std::string& path() const { return path_; }
  void keep() {
    std::error_code error;
    fs::rename(path_, destination_, error);
    if (error) refuse(fmt::format("{}: cannot write the file: {}", destination_, error.message()));
    kept_ = true;
  }

 private:
  void remove_all() const {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path_ + suffix, ignored);
  }

  std::string destination_;
  std::string path_;
  bool kept_ = false;
};

void check_destination(const std::string& path, const Database& source, bool force) {
  if (same_file(path, source.path())) {
    refuse(fmt::format("{}: that is the database being exported; choose another file name", path));
  }
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (fs::is_directory(status)) refuse(fmt::format("{}: a folder; name a file to export to", path));
  if (fs::exists(status) && !force) {
    refuse(
        fmt::format("{}: the file exists already; pass --force to replace it, or choose another "
                    "name",
                    path));
  }
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(text.data(), static_cast<std::streamsize>(text.size()));
  file.close();
  if (!file) refuse(fmt::format("{}: cannot write the file: {}", path, std::strerror(errno)));
}

ExportSummary export_json(Database& source, const ExportOptions& options, const std::string& path) {
  const PortableExport data = collect_export(source, options.signature, options.with_binaries);
  write_text(path, to_portable_json(data));
  ExportSummary summary{.tunings = static_cast<int>(data.tunings.size()),
                        .binaries = static_cast<int>(data.binaries.size())};
  for (const PortableTuning& tuning : data.tunings)
    summary.candidates += static_cast<int>(tuning.candidates.size());
  return summary;
}

// A fresh database holding the chosen tunings whole: a merge into nothing copies them as they are.
ExportSummary export_database(Database& source, const ExportOptions& options,
                              const std::string& path) {
  const MergeSummary merged =
      merge_database(*Database::open(path, OpenMode::read_write), source, options.signature);
  return {.tunings = merged.tunings_added,
          .candidates = merged.candidates_added,
          .binaries = merged.binaries_copied};
}

// What the file to import or merge holds; refused when it is missing or no regular file.
FileState inspect_source(const std::string& path) {
  const FileState state = inspect_file(path);
  if (state == FileState::missing) {
    refuse(
        fmt::format("{}: no such file; pass the path of a file written by `fusetune cache "
                    "export` or of a fusetune database",
                    path));
  }
  return state;
}

std::string read_text(const std::string& path) {
  // Asked before reading: a huge file would fill the memory first.
  std::error_code error;
  if (const std::uintmax_t bytes = fs::file_size(path, error);
      !error && bytes > kPortableMaxBytes) {
    refuse(
        fmt::format("{}: {} bytes, more than the {} bytes allowed in an export; this is not a "
                    "file `fusetune cache export` wrote",
                    path, bytes, kPortableMaxBytes));
  }
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  if (!file) refuse(fmt::format("{}: cannot read the file: {}", path, std::strerror(errno)));
  return text.str();
}

MergeSummary import_json(const std::string& file, const std::string& target) {
  const PortableExport data = parse_portable_json(read_text(file), file);
  std::map<std::string, const BinaryRecord*> binaries;
  for (const BinaryRecord& binary : data.binaries) binaries[binary.key] = &binary;
  const auto db = Database::open(target, OpenMode::read_write);
  Merger merger(*db, [&binaries](const std::string& key) -> std::optional<BinaryRecord> {
    auto found = binaries.find(key);
    if (found == binaries.end()) return std::nullopt;
    return *found->second;
  });
  db->write_atomically([&] {
    for (const PortableTuning& p : data.tunings) merger.add(p.tuning, p.candidates);
  });
  return merger.summary();
}

}  // namespace

ExportSummary export_tunings(Database& source, const ExportOptions& options) {
  check_destination(options.path, source, options.force);
  StagedFile staged(options.path);
  const ExportSummary summary = options.path.ends_with(".db")
                                    ? export_database(source, options, staged.path())
                                    : export_json(source, options, staged.path());
  staged.keep();
  return summary;
}

MergeSummary merge_database_file(const std::string& other, const std::string& target) {
  const FileState state = inspect_source(other);
  if (same_file(other, target)) {
    refuse(fmt::format("{}: that is the database to merge into; name another database", other));
  }
  if (state != FileState::sqlite) {
    refuse(
        fmt::format("{}: not an SQLite file; merge takes another tuning database (a JSON export "
                    "goes through `fusetune cache import`)",
                    other));
  }
  // The other database first: when it is refused, the target is not even created.
  const auto source = Database::open(other, OpenMode::read_only);
  const auto db = Database::open(target, OpenMode::read_write);
  return merge_database(*db, *source);
}

MergeSummary import_file(const std::string& file, const std::string& target) {
  return inspect_source(file) == FileState::sqlite ? merge_database_file(file, target)
                                                   : import_json(file, target);
}

}  // namespace fusetune::cache
