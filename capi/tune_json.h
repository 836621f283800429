// A tuning's outcome as fusetune_library_tune reports it (include/fusetune/fusetune_c.h).
#pragma once

#include <nlohmann/json.hpp>

#include "tuner/tune_auto.h"

namespace fusetune::capi {

// The report fusetune_library_tune documents: the chosen winner's fields at the top (null when
// none was chosen), then one entry per sweep. rel_err is the largest error measured for a
// winner (its sweep's check and the re-check on new inputs), the figure auto chooses by.
nlohmann::ordered_json tune_report_json(const AutoTuneReport& report);

}  // namespace fusetune::capi
