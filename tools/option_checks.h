// Checks of option values that CLI11 runs before a command does anything: each refuses a value
// that would otherwise be taken silently for something else (a negative count read as a huge
// unsigned one, a tolerance that verifies nothing, a mistyped path read as "none"), so that the
// program exits with status 2 and says what to write instead.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace fusetune::cli {

// A path that must name something that exists: "--system names no file: PATH ...".
CLI::Validator existing_path(const std::string& option, const std::string& remedy);

// A whole number >= `minimum`; the message names `option` and says what it counts.
CLI::Validator whole_number(const std::string& option, long long minimum, const std::string& what);

// --max-candidates: a count of 0 or more (0: all).
CLI::Validator candidate_count();

// --tolerance: a relative error against fp64 that can mean something (tolerance_problem).
CLI::Validator tolerance_value();

// A finite number of seconds > 0.
CLI::Validator positive_seconds(const std::string& option);

// For a command line CLI11 refused: where an argument looks like a spec but starts with '-'
// ("-> relu"), which CLI11 takes for an option, the line to write instead (the spec after --);
// "" where no argument looks like that.
std::string dashed_spec_hint(int argc, const char* const* argv);

}  // namespace fusetune::cli
