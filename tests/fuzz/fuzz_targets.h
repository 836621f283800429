// The fuzz targets: what must hold for any input to the spec parser and to `cache import`.
// Each is run by libFuzzer under AddressSanitizer and UndefinedBehaviorSanitizer
// (scripts/fuzz, *_fuzzer.cc) and by a fixed-count pass of deterministic mutations in the CPU
// suite (mutation_test.cc).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace fusetune::fuzz {

// A property a target checks does not hold for an input (a crash or a hang is the other kind
// of finding, which the process itself shows).
class PropertyViolation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// The spec parser on `input` as spec text: it parses, or throws SpecError (invalid_spec) with
// a message; what parses prints to a canonical text that parses back to the same spec and
// prints the same, and its tensors, scalars, signature and describe() JSON can be had. Throws
// PropertyViolation otherwise (any other exception included). Returns whether it parsed.
bool check_spec(std::string_view input);

// `cache import` of `input` as a file: the portable reader accepts it or throws fusetune::Error;
// what it accepts writes back to a document it reads as the same, and imports into a
// database or is refused with fusetune::Error. Throws PropertyViolation otherwise. The
// database is one scratch file per process in `folder`. "@GENERATOR_VERSION@" in `input` stands
// for this build's generator version. Returns whether the reader accepted it.
bool check_import(std::string_view input, const std::string& folder);

}  // namespace fusetune::fuzz
