#include "generator/precision.h"

namespace fusetune {

std::string_view to_string(Precision precision) {
  switch (precision) {
    case Precision::fp32:
      return "fp32";
    case Precision::tf32:
      return "tf32";
    case Precision::tf32x3:
      return "3xtf32";
  }
  return "unknown";
}

std::optional<Precision> precision_from_string(std::string_view text) {
  for (Precision p : kPrecisions)
    if (to_string(p) == text) return p;
  return std::nullopt;
}

double default_tolerance(Precision precision) { return precision == Precision::tf32 ? 5e-4 : 1e-5; }

}  // namespace fusetune
