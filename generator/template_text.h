// Template files as they are pasted into a generated source.
#pragma once

#include <string>
#include <string_view>

namespace fusetune {

// `text` (the file templates/<file_name>) under a banner, without its `#pragma once`, which
// means nothing in a single source and draws a warning there.
std::string inline_template(std::string_view file_name, std::string_view text);

}  // namespace fusetune
