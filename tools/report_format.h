// Numbers as the command line shows them, and results as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tuner/tune.h"
#include "tuner/tune_auto.h"

namespace fusetune::cli {

std::string format_ms(std::optional<double> ms);                    // "2.963" or "-"
std::string format_tflops(double flops, std::optional<double> ms);  // "46.4" or "-"
std::string format_error(std::optional<double> rel_err);            // "1.2e-06" or "-"
std::string format_kib(int bytes);                                  // "49.5" or "-"

// A measured value as JSON: the number, or null when there is none.
nlohmann::json optional_json(std::optional<double> value);

nlohmann::json to_json(const CandidateResult& result, double flops);
nlohmann::json to_json(const TuneReport& report, const std::string& database);
// `fusetune tune --json`'s report of one spec: its sweep's for a named precision; under
// --precision auto (`is_auto`) the choice, with every sweep's report.
nlohmann::json to_json(const AutoTuneReport& report, bool is_auto, const std::string& database);

}  // namespace fusetune::cli
