// Soft keys: what can change a kernel's timing without changing its code (the driver, the clocks
// the GPU reports, ECC, MPS). A tuning records them but is not keyed by them, so a change does
// not throw the tuning away: its winner and runner-up are verified and timed again instead
// (tuner/gpu_sweep.h), seconds where a new sweep takes minutes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fusetune::cache {

struct SoftKeys {
  int driver_version = 0;  // as cudaDriverGetVersion gives it (13000 for 13.0); 0: not recorded
  // Empty: not recorded. (The initializers let `{.driver_version = 580}` name only the driver.)
  std::optional<int> sm_clock_mhz = std::nullopt;      // the peak SM clock the device reports
  std::optional<int> memory_clock_mhz = std::nullopt;  // the peak memory clock
  std::optional<bool> ecc = std::nullopt;              // ECC enabled
  std::optional<bool> mps = std::nullopt;              // contexts shared through the MPS server

  bool operator==(const SoftKeys&) const = default;
};

// Each soft key whose value differs between what a tuning recorded and the GPU `now`, said for a
// person ("driver 12.8 -> 13.0", "ECC on -> off"). A key the tuning did not record (one made by
// an older fusetune) is not a difference.
std::vector<std::string> soft_key_changes(const SoftKeys& recorded, const SoftKeys& now);

// "driver 13.0, SM clock 1980 MHz, memory clock 2619 MHz, ECC on, MPS off"; keys not recorded
// are left out.
std::string describe(const SoftKeys& keys);

// The soft keys other than the driver as stored in a tuning's device_state column: a JSON
// object, "" when none is recorded.
std::string device_state_json(const SoftKeys& keys);
// Reads device_state_json's text into `keys`; text it cannot read leaves them unrecorded, since
// soft keys only ever ask for a re-check.
void read_device_state(std::string_view json, SoftKeys& keys);

}  // namespace fusetune::cache
