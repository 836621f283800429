#include <unistd.h>

#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "cache/portable_format.h"
#include "cache/transfer.h"
#include "fusetune/status.h"
#include "generator/version.h"
#include "runtime/import_checks.h"
#include "tests/fuzz/fuzz_targets.h"

namespace fusetune::fuzz {
namespace {

[[noreturn]] void violated(const std::string& what) { throw PropertyViolation(what); }

// What the reader accepted must survive the writer: written back and read again, it writes the
// same document.
void check_round_trip(const cache::PortableExport& data) {
  const std::string written = cache::to_portable_json(data);
  cache::PortableExport again;
  try {
    again = cache::parse_portable_json(written, "rewritten.json");
  } catch (const Error& e) {
    violated(std::string("the reader refuses what the writer wrote of an accepted file: ") +
             e.what() + "\n" + written);
  }
  if (cache::to_portable_json(again) != written)
    violated("an accepted file, written and read back, writes otherwise:\n" + written);
}

// `cache import FILE` with the checks the command runs, trusting the cubins of every other input:
// into one scratch database per process, which keeps what earlier inputs brought (an import
// merges into what is there).
void check_import_file(std::string_view input, const std::string& folder) {
  const std::string stem = folder + "/import_" + std::to_string(getpid());
  const std::string file = stem + ".json";
  std::ofstream(file, std::ios::binary | std::ios::trunc) << input;
  try {
    cache::import_file(file, stem + ".db",
                       {.trust_binaries = input.size() % 2 == 1, .check = import_problem});
  } catch (const Error&) {
    // Refused with a message: the database is as it was.
  }
}

// The corpus writes this build's generator version as a placeholder, so that its tunings are of
// this build and their configurations go through the generator's checks (import_problem).
std::string with_this_build(std::string_view input) {
  static constexpr std::string_view kPlaceholder = "@GENERATOR_VERSION@";
  std::string text(input);
  for (std::size_t at = text.find(kPlaceholder); at != std::string::npos;
       at = text.find(kPlaceholder, at))
    text.replace(at, kPlaceholder.size(), generator_version());
  return text;
}

}  // namespace

bool check_import(std::string_view raw_input, const std::string& folder) {
  const std::string input = with_this_build(raw_input);
  cache::PortableExport data;
  try {
    data = cache::parse_portable_json(input, "fuzz.json");
  } catch (const Error&) {
    return false;  // refused with a message
  } catch (const std::exception& e) {
    violated(std::string("the reader threw other than fusetune::Error: ") + e.what());
  }
  try {
    check_round_trip(data);
    check_import_file(input, folder);
  } catch (const PropertyViolation&) {
    throw;
  } catch (const std::exception& e) {
    violated(std::string("an accepted file threw other than fusetune::Error: ") + e.what());
  }
  return true;
}

}  // namespace fusetune::fuzz
