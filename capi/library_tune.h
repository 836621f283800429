// fusetune_library_tune: `fusetune tune` on a library handle's database and GPU.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "capi/handles.h"

namespace fusetune::capi {

struct TuneRequest {
  std::string_view spec;
  std::string_view precision;  // "": the spec's native precision
  double tolerance = 0;        // 0: the precision's default
  bool force = false;
  std::size_t max_candidates = 0;
  fusetune_progress_fn progress = nullptr;
  void* user = nullptr;
};

// Tunes (or recalls) as `request` asks into the library's database and returns the report
// fusetune_library_tune documents. Afterwards the library's loads see the new winner. Throws
// fusetune::Error: not_found when no winner was chosen, else as tune_with_policy does.
nlohmann::ordered_json tune_in_library(fusetune_library& library, const TuneRequest& request);

}  // namespace fusetune::capi
