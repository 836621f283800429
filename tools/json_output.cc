#include "tools/json_output.h"

#include <iostream>

#include "tools/terminal_text.h"

namespace fusetune::cli {

void print_json(nlohmann::json document) {
  document["schema_version"] = kJsonSchemaVersion;
  std::cout << json_text(document) << '\n';
}

}  // namespace fusetune::cli
