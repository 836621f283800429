// Where the tuner finds fusetune-worker: beside the program that tunes, or beside the shared
// library holding the tuner (libfusetune.so in a Python process, whose program is python).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace fusetune {

// The places fusetune-worker may be, in the order they are tried, without repeats: beside
// `program`, beside `code_object` (the file holding the tuner's code) and in ../bin from it
// (the build puts libraries in lib/ and programs in bin/).
std::vector<std::filesystem::path> worker_places(const std::filesystem::path& program,
                                                 const std::filesystem::path& code_object);

// $FUSETUNE_WORKER, else the first of worker_places() for this process that exists. Throws
// Error(internal) naming every place looked in when it is in none.
std::string find_worker();

}  // namespace fusetune
