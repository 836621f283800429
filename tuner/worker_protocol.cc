#include "tuner/worker_protocol.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "fusetune/status.h"

namespace fusetune {

using nlohmann::json;

json timing_to_json(const TimingOptions& t) {
  return {{"warmup_launches", t.warmup_launches},
          {"min_launches", t.min_launches},
          {"min_total_ms", t.min_total_ms},
          {"max_launches", t.max_launches},
          {"flush_l2", t.flush_l2},
          {"abandon_check", t.abandon_check}};
}

TimingOptions timing_from_json(const json& j) {
  TimingOptions t;
  t.warmup_launches = j.at("warmup_launches");
  t.min_launches = j.at("min_launches");
  t.min_total_ms = j.at("min_total_ms");
  t.max_launches = j.at("max_launches");
  t.flush_l2 = j.at("flush_l2");
  t.abandon_check = j.at("abandon_check");
  return t;
}

json tensor_maps_to_json(const std::vector<TensorMapSpec>& maps) {
  json list = json::array();
  for (const TensorMapSpec& m : maps)
    list.push_back({m.tensor, m.rows, m.cols, m.box_rows, m.box_cols, to_string(m.dtype),
                    m.round_to_tf32, m.int8_digits,
                    m.workspace_offset ? json(*m.workspace_offset) : json(nullptr),
                    m.swizzle_bytes});
  return list;
}

std::vector<TensorMapSpec> tensor_maps_from_json(const json& j) {
  std::vector<TensorMapSpec> maps;
  for (const json& m : j)
    maps.push_back({m.at(0).get<int>(), m.at(1).get<std::int64_t>(), m.at(2).get<std::int64_t>(),
                    m.at(3).get<int>(), m.at(4).get<int>(),
                    parse_data_type(m.at(5).get<std::string>()), m.at(6).get<bool>(),
                    m.at(7).get<bool>(),
                    m.at(8).is_null() ? std::nullopt
                                      : std::optional<std::uint64_t>(m.at(8).get<std::uint64_t>()),
                    m.at(9).get<int>()});
  return maps;
}

std::string encode_setup(const SetupRequest& r) {
  json setup{{"cmd", "setup"},           {"spec", r.spec},
             {"seed", r.seed},           {"device", r.device},
             {"tolerance", r.tolerance}, {"timing", timing_to_json(r.timing)}};
  if (r.recheck_seed) setup["recheck_seed"] = *r.recheck_seed;
  return setup.dump();
}

namespace {

json geometry_to_json(const LaunchGeometry& g) {
  json message = {{"grid", g.grid},
                  {"block", g.block},
                  {"smem", g.dynamic_smem_bytes},
                  {"tensor_maps", tensor_maps_to_json(g.tensor_maps)},
                  {"workspace_bytes", g.workspace_bytes},
                  {"cluster", g.cluster}};
  if (g.rows.tile_rows > 0)
    message["row_grid"] = {g.rows.tile_rows, g.rows.tile_row_blocks, g.rows.max_rows};
  return message;
}

}  // namespace

LaunchGeometry geometry_from_run(const json& run_message) {
  LaunchGeometry geometry;
  geometry.grid = run_message.at("grid");
  geometry.block = run_message.at("block");
  geometry.dynamic_smem_bytes = run_message.at("smem");
  geometry.tensor_maps = tensor_maps_from_json(run_message.at("tensor_maps"));
  geometry.workspace_bytes = run_message.at("workspace_bytes");
  geometry.cluster = run_message.at("cluster");
  if (run_message.contains("row_grid")) {
    const json& rows = run_message["row_grid"];
    geometry.rows = {rows.at(0), rows.at(1), rows.at(2)};
  }
  return geometry;
}

FinishingPlan finishing_from_run(const json& run_message) {
  FinishingPlan plan;
  if (run_message.contains("preparing"))
    for (const json& step : run_message["preparing"])
      plan.preparing.push_back({step.at("entry").get<std::string>(), geometry_from_run(step)});
  if (!run_message.contains("finishing")) return plan;
  for (const json& step : run_message["finishing"])
    plan.steps.push_back({step.at("entry").get<std::string>(), geometry_from_run(step)});
  if (run_message.contains("main_output_offset"))
    plan.main_output_offset = run_message["main_output_offset"].get<std::uint64_t>();
  return plan;
}

std::string encode_run(const RunRequest& r) {
  json message = {{"cmd", "run"}, {"name", r.name}, {"cubin_path", r.cubin_path}};
  message.update(geometry_to_json(r.geometry));
  const auto steps_to_json = [](const std::vector<KernelStep>& steps) {
    json list = json::array();
    for (const KernelStep& step : steps) {
      json entry = geometry_to_json(step.launch);
      entry["entry"] = step.entry;
      list.push_back(std::move(entry));
    }
    return list;
  };
  if (!r.finishing.preparing.empty()) message["preparing"] = steps_to_json(r.finishing.preparing);
  if (!r.finishing.steps.empty()) {
    message["finishing"] = steps_to_json(r.finishing.steps);
    if (r.finishing.main_output_offset)
      message["main_output_offset"] = *r.finishing.main_output_offset;
  }
  if (r.abandon_above_ms) message["abandon_above_ms"] = *r.abandon_above_ms;
  if (r.timing) message["timing"] = timing_to_json(*r.timing);
  return message.dump();
}

std::string encode_reseed(std::uint64_t seed) {
  return json{{"cmd", "reseed"}, {"seed", seed}}.dump();
}

std::string encode_reply(const RunReply& r) {
  json message = {{"outcome", to_string(r.outcome)},
                  {"non_finite", r.non_finite},
                  {"launches", r.launches},
                  {"message", r.message}};
  if (r.time_ms) message["time_ms"] = *r.time_ms;
  if (r.rel_err) message["rel_err"] = *r.rel_err;
  return message.dump();
}

RunReply decode_reply(const std::string& line) {
  try {
    const json message = json::parse(line);
    RunReply r;
    const std::optional<Outcome> outcome =
        outcome_from_string(message.at("outcome").get<std::string>());
    if (!outcome) throw Error(StatusCode::internal, "unknown outcome");
    r.outcome = *outcome;
    if (message.contains("time_ms")) r.time_ms = message["time_ms"].get<double>();
    if (message.contains("rel_err")) r.rel_err = message["rel_err"].get<double>();
    r.non_finite = message.value("non_finite", std::int64_t{0});
    r.launches = message.value("launches", 0);
    r.message = message.value("message", "");
    return r;
  } catch (const json::exception& e) {
    throw Error(StatusCode::internal,
                fmt::format("malformed reply from the worker ({}): {}", e.what(), line));
  }
}

}  // namespace fusetune
