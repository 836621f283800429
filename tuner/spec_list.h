// A list of problems to tune, as a file holds it (`fusetune tune --specs FILE`): one spec per
// line; blank lines are skipped and '#' starts a comment to the end of the line (the spec
// language has no '#', so a comment may also follow a spec).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "generator/spec.h"

namespace fusetune {

struct ListedSpec {
  int line = 0;  // 1-based, in the list's text
  Spec spec;
};

// The specs of `text`, in the order of their lines. Throws Error (invalid_spec) when any line
// does not parse, naming each such line as "`source`:LINE: " followed by the parser's message
// with its caret, or when the list names no spec at all. Nothing is returned then, so a caller
// tunes nothing from a list with a mistake in it.
std::vector<ListedSpec> parse_spec_list(std::string_view text, std::string_view source);

}  // namespace fusetune
