// libFuzzer's entry for the spec parser: scripts/fuzz builds it with clang under AddressSanitizer
// and UndefinedBehaviorSanitizer and runs it on tests/fuzz/corpus/spec with spec.dict.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    fusetune::fuzz::check_spec(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const fusetune::fuzz::PropertyViolation& e) {
    std::fprintf(stderr, "property violated: %s\n", e.what());
    std::abort();  // libFuzzer keeps the input as a crash
  }
  return 0;
}
