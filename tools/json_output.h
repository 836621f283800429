// What every --json of the fusetune program prints: one JSON object whose "schema_version" says
// which layout of fields it follows, so that a script can tell a layout it was not written for.
#pragma once

#include <nlohmann/json.hpp>

namespace fusetune::cli {

// Raised when a field of any command's --json output is renamed, removed or changes meaning;
// adding a field leaves it. README's "The command line" documents it.
constexpr int kJsonSchemaVersion = 1;

// Prints `document`, a JSON object, on standard output with "schema_version" set, as valid JSON
// whatever its strings hold (terminal_text.h's json_text).
void print_json(nlohmann::json document);

}  // namespace fusetune::cli
