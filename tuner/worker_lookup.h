// Where the tuner finds fusetune-worker: beside the program that tunes, or beside the shared
// library holding the tuner (libfusetune.so in a Python process, whose program is python), in a
// build folder, a Python package or an installation.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace fusetune {

// Where `cmake --install` puts fusetune-worker (libexec/fusetune: a program that other programs
// run, not people), relative to the folder of the installed programs and to that of the
// installed libraries, as this build was configured.
struct InstalledWorker {
  std::filesystem::path from_programs;   // ../libexec/fusetune from bin/
  std::filesystem::path from_libraries;  // ../libexec/fusetune from lib/
};
InstalledWorker installed_worker();

// The places fusetune-worker may be, in the order they are tried, without repeats: beside
// `program` (a build's bin/, a Python package's _native/), where an installation puts it from the
// program's folder, beside `code_object` (the file holding the tuner's code), in ../bin from it
// (a build puts libraries in lib/ and programs in bin/), and where an installation puts it from
// the library's folder.
std::vector<std::filesystem::path> worker_places(const std::filesystem::path& program,
                                                 const std::filesystem::path& code_object,
                                                 const InstalledWorker& installed);

// $FUSETUNE_WORKER, else the first of worker_places() for this process that exists. Throws
// Error(internal) naming every place looked in when it is in none.
std::string find_worker();

}  // namespace fusetune
