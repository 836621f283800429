// What a stream's workspace holds of an operand a preparing step read
// (runtime/prepared_operands.h): the same address on the same stream and step only, until a failed
// launch or a capture.
#include "runtime/prepared_operands.h"

#include <gtest/gtest.h>

namespace fusetune {
namespace {

const cudaStream_t kStream = reinterpret_cast<cudaStream_t>(0x10);
const cudaStream_t kOtherStream = reinterpret_cast<cudaStream_t>(0x20);
const int kWeight = 0, kOtherWeight = 0;

TEST(PreparedOperands, NothingIsPreparedAtFirst) {
  PreparedOperands prepared;
  EXPECT_FALSE(prepared.still_prepared(kStream, 1, &kWeight));
}

TEST(PreparedOperands, TheSameAddressOnTheSameStreamAndStepIsStillPrepared) {
  PreparedOperands prepared;
  prepared.prepared(kStream, 1, &kWeight, false);
  EXPECT_TRUE(prepared.still_prepared(kStream, 1, &kWeight));
  EXPECT_FALSE(prepared.still_prepared(kStream, 1, &kOtherWeight));
  EXPECT_FALSE(prepared.still_prepared(kOtherStream, 1, &kWeight));
  EXPECT_FALSE(prepared.still_prepared(kStream, 0, &kWeight));
  prepared.prepared(kStream, 1, &kOtherWeight, false);
  EXPECT_FALSE(prepared.still_prepared(kStream, 1, &kWeight));
  EXPECT_TRUE(prepared.still_prepared(kStream, 1, &kOtherWeight));
}

TEST(PreparedOperands, AFailedLaunchForgetsIt) {
  PreparedOperands prepared;
  prepared.prepared(kStream, 1, &kWeight, false);
  prepared.forget(kStream, 1);
  EXPECT_FALSE(prepared.still_prepared(kStream, 1, &kWeight));
}

TEST(PreparedOperands, AStreamOnceCapturedNeverSkipsAgain) {
  PreparedOperands prepared;
  prepared.prepared(kStream, 1, &kWeight, true);
  EXPECT_FALSE(prepared.still_prepared(kStream, 1, &kWeight));
  prepared.prepared(kStream, 1, &kWeight, false);
  EXPECT_FALSE(prepared.still_prepared(kStream, 1, &kWeight));
  prepared.prepared(kOtherStream, 1, &kWeight, false);
  EXPECT_TRUE(prepared.still_prepared(kOtherStream, 1, &kWeight));
}

}  // namespace
}  // namespace fusetune
