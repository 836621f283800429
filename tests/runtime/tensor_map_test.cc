// What the TMA descriptor encoder refuses before it asks the driver (no GPU needed).
#include "runtime/tensor_map.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace fusetune {
namespace {

TEST(TensorMap, MisalignedTensorsAreRefusedBeforeTheDriverIsAsked) {
  alignas(16) static float storage[64];
  LaunchArgs args;
  args.tensors[1] = storage + 1;  // 4 bytes past a 16-byte boundary
  EncodedTensorMap map;
  EXPECT_EQ(encode_tensor_map({1, 4, 16, 4, 16}, args, nullptr, map), cudaErrorMisalignedAddress);
}

TEST(TensorMap, TensorIndicesOutsideTheArgumentsAreRefused) {
  LaunchArgs args;
  EncodedTensorMap map;
  EXPECT_EQ(encode_tensor_map({-2, 4, 16, 4, 16}, args, nullptr, map), cudaErrorInvalidValue);
  EXPECT_EQ(encode_tensor_map({kMaxTensors, 4, 16, 4, 16}, args, nullptr, map),
            cudaErrorInvalidValue);
}

TEST(TensorMap, TheOutputIsTheArgumentsOutPointer) {
  alignas(16) static float storage[64];
  LaunchArgs args;
  args.out = storage + 1;  // misaligned, so refused before the driver is asked
  EncodedTensorMap map;
  EXPECT_EQ(encode_tensor_map({TensorMapSpec::kOutput, 4, 16, 4, 16}, args, nullptr, map),
            cudaErrorMisalignedAddress);
}

TEST(TensorMap, OnlyFp32DataIsRoundedToTf32) {
  alignas(16) static float storage[64];
  LaunchArgs args;
  args.tensors[0] = storage;
  EncodedTensorMap map;
  EXPECT_EQ(encode_tensor_map({0, 4, 16, 4, 16, DataType::bf16, true}, args, nullptr, map),
            cudaErrorInvalidValue);
  EXPECT_EQ(encode_tensor_map({0, 4, 16, 4, 16, DataType::fp16, true}, args, nullptr, map),
            cudaErrorInvalidValue);
}

TEST(TensorMap, HasTheSizeAndAlignmentOfACUtensorMap) {
  EXPECT_EQ(sizeof(EncodedTensorMap), 128u);
  EXPECT_EQ(alignof(EncodedTensorMap), 64u);
}

}  // namespace
}  // namespace fusetune
