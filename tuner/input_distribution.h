// How a problem's inputs are drawn (tuner/problem_data.h). uniform: in [-1, 1] (the weight
// bounded as PyTorch initialises a layer's), what the tuner verifies and times on. normal:
// standard normal (the weight's standard deviation that bound), as activations and trained
// weights rather are: a row's largest value lies several times above its typical ones, which
// emulated precisions (int8x) must hold too.
#pragma once

#include <optional>
#include <string_view>

namespace fusetune {

enum class InputDistribution { uniform, normal };

inline std::string_view to_string(InputDistribution inputs) {
  return inputs == InputDistribution::normal ? "normal" : "uniform";
}

inline std::optional<InputDistribution> input_distribution_from_string(std::string_view name) {
  if (name == "uniform") return InputDistribution::uniform;
  if (name == "normal") return InputDistribution::normal;
  return std::nullopt;
}

}  // namespace fusetune
