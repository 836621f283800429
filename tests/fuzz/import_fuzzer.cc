// libFuzzer's entry for `cache import`: scripts/fuzz builds it with clang under AddressSanitizer
// and UndefinedBehaviorSanitizer and runs it on tests/fuzz/corpus/import with import.dict. The
// scratch database lives in a folder of its own under $TMPDIR, made once per process.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_targets.h"

namespace {

std::string scratch_folder() {
  const char* tmp = std::getenv("TMPDIR");
  std::string folder = std::string(tmp && *tmp ? tmp : "/tmp") + "/fusetune_import_fuzz_XXXXXX";
  if (!mkdtemp(folder.data())) std::abort();
  return folder;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string folder = scratch_folder();
  try {
    fusetune::fuzz::check_import(std::string_view(reinterpret_cast<const char*>(data), size),
                                 folder);
  } catch (const fusetune::fuzz::PropertyViolation& e) {
    std::fprintf(stderr, "property violated: %s\n", e.what());
    std::abort();  // libFuzzer keeps the input as a crash
  }
  return 0;
}
