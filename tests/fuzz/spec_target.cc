#include <exception>
#include <optional>
#include <string>

#include "capi/spec_json.h"
#include "generator/spec_parser.h"
#include "tests/fuzz/fuzz_targets.h"

namespace fusetune::fuzz {
namespace {

[[noreturn]] void violated(const std::string& what) { throw PropertyViolation(what); }

// What a parsed spec must allow: printing, reading its print back, and describing itself.
void check_parsed(const Spec& spec) {
  const std::string canonical = spec.canonical();
  Spec again;
  try {
    again = parse_spec(canonical);
  } catch (const SpecError& e) {
    violated("the canonical text does not parse: " + canonical + "\n" + e.what());
  }
  if (!(again == spec)) violated("the canonical text parses to another spec: " + canonical);
  if (again.canonical() != canonical) violated("the canonical text prints otherwise: " + canonical);
  spec.signature();
  spec.tensors();
  spec.scalars();
  spec.output_shape();
  capi::describe_spec(spec).dump();
}

}  // namespace

bool check_spec(std::string_view input) {
  std::optional<Spec> spec;
  try {
    spec = parse_spec(input);
  } catch (const SpecError& e) {
    if (e.code() != StatusCode::invalid_spec || std::string(e.what()).rfind("invalid spec: ", 0))
      violated(std::string("a refusal without the spec's message: ") + e.what());
    return false;
  } catch (const std::exception& e) {
    violated(std::string("parse_spec threw other than SpecError: ") + e.what());
  }
  try {
    check_parsed(*spec);
  } catch (const PropertyViolation&) {
    throw;
  } catch (const std::exception& e) {
    violated("a parsed spec threw: " + spec->canonical() + "\n" + e.what());
  }
  return true;
}

}  // namespace fusetune::fuzz
