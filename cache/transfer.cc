#include "cache/transfer.h"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cache/file_checks.h"
#include "cache/portable_format.h"
#include "cache/staged_file.h"
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

void check_destination(const std::string& path, const Database& source, bool force) {
  if (same_file(path, source.path())) {
    refuse(fmt::format("{}: that is the database being exported; choose another file name", path));
  }
  check_output_path(path, force);
}

ExportSummary export_json(Database& source, const ExportOptions& options, const std::string& path) {
  const PortableExport data = collect_export(source, options.signature, options.with_binaries);
  write_new_file(path, to_portable_json(data));
  ExportSummary summary{.tunings = static_cast<int>(data.tunings.size()),
                        .binaries = static_cast<int>(data.binaries.size())};
  for (const PortableTuning& tuning : data.tunings)
    summary.candidates += static_cast<int>(tuning.candidates.size());
  return summary;
}

// A fresh database holding the chosen tunings whole: a merge into nothing copies them as they are.
ExportSummary export_database(Database& source, const ExportOptions& options,
                              const std::string& path) {
  // The user's own results into a new file: taken as they are, cubins included.
  const MergeSummary merged = merge_database(*Database::open(path, OpenMode::read_write), source,
                                             options.signature, {.trust_binaries = true});
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

MergeSummary import_json(const std::string& file, const std::string& target,
                         const MergeOptions& options) {
  const PortableExport data = parse_portable_json(read_text(file), file);
  for (const PortableTuning& p : data.tunings)
    check_incoming(p.tuning, p.candidates, options, file);
  std::map<std::string, const BinaryRecord*> binaries;
  for (const BinaryRecord& binary : data.binaries) binaries[binary.key] = &binary;
  const auto db = Database::open(target, OpenMode::read_write);
  Merger merger(
      *db,
      [&binaries](const std::string& key) -> std::optional<BinaryRecord> {
        auto found = binaries.find(key);
        if (found == binaries.end()) return std::nullopt;
        return *found->second;
      },
      options, file);
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
  staged.keep(options.force);
  return summary;
}

MergeSummary merge_database_file(const std::string& other, const std::string& target,
                                 const MergeOptions& options) {
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
  // The other database and its tunings first: when they are refused, the target is not even
  // created.
  const auto source = Database::open(other, OpenMode::read_only);
  for (const TuningRecord& tuning : source->tunings())
    check_incoming(tuning, source->candidates(tuning.id), options, other);
  const auto db = Database::open(target, OpenMode::read_write);
  return merge_database(*db, *source, "", options);
}

MergeSummary import_file(const std::string& file, const std::string& target,
                         const MergeOptions& options) {
  return inspect_source(file) == FileState::sqlite ? merge_database_file(file, target, options)
                                                   : import_json(file, target, options);
}

}  // namespace fusetune::cache
