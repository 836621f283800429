// Soft keys: recorded with a tuning, compared with the GPU in use, never part of the key. A
// change is said for a person; what a tuning did not record is no change.
#include "cache/soft_keys.h"

#include <gtest/gtest.h>

namespace fusetune::cache {
namespace {

const SoftKeys kTuned{.driver_version = 12080,
                      .sm_clock_mhz = 1980,
                      .memory_clock_mhz = 2619,
                      .ecc = true,
                      .mps = false};

TEST(SoftKeyChanges, TheSameKeysHaveNone) { EXPECT_TRUE(soft_key_changes(kTuned, kTuned).empty()); }

TEST(SoftKeyChanges, EachChangedKeyIsNamedWithBothValues) {
  SoftKeys now = kTuned;
  now.driver_version = 13000;
  now.sm_clock_mhz = 1755;
  now.ecc = false;
  now.mps = true;
  EXPECT_EQ(soft_key_changes(kTuned, now),
            (std::vector<std::string>{"driver 12.8 -> 13.0", "SM clock 1980 MHz -> 1755 MHz",
                                      "ECC on -> off", "MPS off -> on"}));
  now = kTuned;
  now.memory_clock_mhz = 1593;
  EXPECT_EQ(soft_key_changes(kTuned, now),
            std::vector<std::string>{"memory clock 2619 MHz -> 1593 MHz"});
}

TEST(SoftKeyChanges, AKeyTheTuningDidNotRecordIsNoChange) {
  // A tuning made before clocks, ECC and MPS were recorded, or with no driver known.
  EXPECT_TRUE(soft_key_changes({.driver_version = 12080}, kTuned).empty());
  EXPECT_TRUE(soft_key_changes({.driver_version = 0, .ecc = true}, kTuned).empty());
  EXPECT_EQ(soft_key_changes({.driver_version = 11000}, kTuned).size(), 1u);
}

TEST(SoftKeysText, DescribeNamesWhatIsRecorded) {
  EXPECT_EQ(describe(kTuned),
            "driver 12.8, SM clock 1980 MHz, memory clock 2619 MHz, ECC on, MPS off");
  EXPECT_EQ(describe({.driver_version = 13000}), "driver 13.0");
  EXPECT_EQ(describe({}), "not recorded");
}

TEST(SoftKeysText, TheDeviceStateRoundTripsThroughItsJson) {
  SoftKeys read{.driver_version = kTuned.driver_version};
  read_device_state(device_state_json(kTuned), read);
  EXPECT_EQ(read, kTuned);
  EXPECT_EQ(device_state_json({.driver_version = 13000}), "") << "nothing beyond the driver";
}

TEST(SoftKeysText, UnreadableDeviceStateLeavesTheKeysUnrecorded) {
  for (const char* text : {"", "not json", "[1, 2]", R"({"sm_clock_mhz": "fast", "ecc": 1})"}) {
    SoftKeys read{.driver_version = 13000};
    read_device_state(text, read);
    EXPECT_EQ(read, SoftKeys{.driver_version = 13000}) << text;
  }
}

}  // namespace
}  // namespace fusetune::cache
