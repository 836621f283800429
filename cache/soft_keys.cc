#include "cache/soft_keys.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

namespace fusetune::cache {
namespace {

std::string driver_text(int version) {
  return fmt::format("{}.{}", version / 1000, version % 1000 / 10);
}

std::string on_off(bool value) { return value ? "on" : "off"; }

template <typename T, typename Say>
void note_change(std::vector<std::string>& changes, const char* what,
                 const std::optional<T>& recorded, const std::optional<T>& now, Say say) {
  if (recorded && now && *recorded != *now)
    changes.push_back(fmt::format("{} {} -> {}", what, say(*recorded), say(*now)));
}

std::string mhz(int value) { return fmt::format("{} MHz", value); }

}  // namespace

std::vector<std::string> soft_key_changes(const SoftKeys& recorded, const SoftKeys& now) {
  std::vector<std::string> changes;
  if (recorded.driver_version != 0 && now.driver_version != 0 &&
      recorded.driver_version != now.driver_version)
    changes.push_back(fmt::format("driver {} -> {}", driver_text(recorded.driver_version),
                                  driver_text(now.driver_version)));
  note_change(changes, "SM clock", recorded.sm_clock_mhz, now.sm_clock_mhz, mhz);
  note_change(changes, "memory clock", recorded.memory_clock_mhz, now.memory_clock_mhz, mhz);
  note_change(changes, "ECC", recorded.ecc, now.ecc, on_off);
  note_change(changes, "MPS", recorded.mps, now.mps, on_off);
  return changes;
}

std::string describe(const SoftKeys& keys) {
  std::vector<std::string> parts;
  if (keys.driver_version != 0) parts.push_back("driver " + driver_text(keys.driver_version));
  if (keys.sm_clock_mhz) parts.push_back(fmt::format("SM clock {}", mhz(*keys.sm_clock_mhz)));
  if (keys.memory_clock_mhz)
    parts.push_back(fmt::format("memory clock {}", mhz(*keys.memory_clock_mhz)));
  if (keys.ecc) parts.push_back("ECC " + on_off(*keys.ecc));
  if (keys.mps) parts.push_back("MPS " + on_off(*keys.mps));
  if (parts.empty()) return "not recorded";
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string device_state_json(const SoftKeys& keys) {
  nlohmann::json j = nlohmann::json::object();
  if (keys.sm_clock_mhz) j["sm_clock_mhz"] = *keys.sm_clock_mhz;
  if (keys.memory_clock_mhz) j["memory_clock_mhz"] = *keys.memory_clock_mhz;
  if (keys.ecc) j["ecc"] = *keys.ecc;
  if (keys.mps) j["mps"] = *keys.mps;
  return j.empty() ? std::string() : j.dump();
}

void read_device_state(std::string_view json, SoftKeys& keys) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  const auto read = [&j]<typename T>(const char* name, std::optional<T>& into) {
    const auto it = j.find(name);
    if (it == j.end()) return;
    if constexpr (std::is_same_v<T, bool>) {
      if (it->is_boolean()) into = it->template get<bool>();
    } else if (it->is_number_integer()) {
      into = it->template get<T>();
    }
  };
  read("sm_clock_mhz", keys.sm_clock_mhz);
  read("memory_clock_mhz", keys.memory_clock_mhz);
  read("ecc", keys.ecc);
  read("mps", keys.mps);
}

}  // namespace fusetune::cache
