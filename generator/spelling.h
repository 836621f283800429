// Suggestions for misspelt names in specs ("did you mean 'leaky_relu'?").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fusetune {

// `text` with ASCII letters in lower case: names compare without regard to case.
std::string lowercase(std::string_view text);

// Edits (insertions, deletions, substitutions, swaps of neighbours) from a to b, ignoring case.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `name`, when it is near enough to be a likely typo: at most 1 edit
// for names of up to 4 letters, 2 up to 7, 3 beyond.
std::optional<std::string_view> closest_name(std::string_view name,
                                             const std::vector<std::string_view>& candidates);

}  // namespace fusetune
