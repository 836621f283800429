// The precision policy: which precisions "auto" tries for a tolerance, and which winner it
// chooses from their measured times and errors.
#include "generator/precision_policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "fusetune/status.h"

namespace fusetune {
namespace {

using enum Precision;

TEST(PrecisionPolicyTest, ANamedPrecisionIsTheOnlyOneTriedAtItsDefaultTolerance) {
  const PrecisionPolicy policy = make_precision_policy("tf32", std::nullopt);
  EXPECT_FALSE(policy.is_auto());
  EXPECT_EQ(policy.precisions(), std::vector<Precision>{tf32});
  EXPECT_EQ(policy.tolerance, 5e-4);
  EXPECT_EQ(policy.name(), "tf32");
  EXPECT_EQ(make_precision_policy("3xtf32", 2e-6).tolerance, 2e-6);
}

TEST(PrecisionPolicyTest, AutoDefaultsToFp32LevelAccuracyAndSkipsTf32) {
  const PrecisionPolicy policy = make_precision_policy("auto", std::nullopt);
  EXPECT_TRUE(policy.is_auto());
  EXPECT_EQ(policy.name(), "auto");
  EXPECT_EQ(policy.tolerance, 1e-5);
  EXPECT_EQ(policy.precisions(), (std::vector<Precision>{int8x, tf32x3, fp32}));
}

TEST(PrecisionPolicyTest, AutoTriesTf32FirstWhenTheToleranceAllowsIt) {
  EXPECT_EQ(make_precision_policy("auto", 5e-4).precisions(),
            (std::vector<Precision>{tf32, int8x, tf32x3, fp32}));
  // Just under TF32's typical error: TF32 is not tried.
  EXPECT_EQ(make_precision_policy("auto", 0.9 * expected_error(tf32)).precisions(),
            (std::vector<Precision>{int8x, tf32x3, fp32}));
  // Tighter than FFMA's typical error over long sums: only 3xTF32 remains.
  EXPECT_EQ(make_precision_policy("auto", 1.5e-6).precisions(), std::vector<Precision>{tf32x3});
}

TEST(PrecisionPolicyTest, ExpectedErrorsOrderThePrecisionsByAccuracy) {
  EXPECT_LT(expected_error(tf32x3), expected_error(fp32));
  EXPECT_LE(expected_error(tf32x3), expected_error(int8x));
  EXPECT_LE(expected_error(int8x), expected_error(fp32));
  EXPECT_LT(expected_error(fp32), expected_error(tf32));
  for (Precision p : kPrecisions)
    for (DataType out : kDataTypes)
      EXPECT_LE(expected_error(p, out), default_tolerance(p, out))
          << to_string(p) << " out " << to_string(out);
}

void expect_invalid(std::string_view name, std::optional<double> tolerance,
                    const std::string& says) {
  try {
    make_precision_policy(name, tolerance);
    ADD_FAILURE() << "accepted " << name;
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code(), StatusCode::invalid_argument);
    EXPECT_NE(e.status().message().find(says), std::string::npos) << e.status().message();
  }
}

TEST(PrecisionPolicyTest, BadNamesAndTolerancesAreRefusedSayingWhatIsAccepted) {
  expect_invalid("bf17", std::nullopt, "not one of fp32, tf32, 3xtf32, bf16, fp16, auto");
  expect_invalid("auto", 0.0, "not a positive number");
  expect_invalid("fp32", -1e-5, "not a positive number");
  expect_invalid("auto", std::nan(""), "not a positive number");
  expect_invalid("auto", 1e-8, "give a larger --tolerance");
}

// The relative error of an output of zeros is exactly 1: a tolerance of 1 or more would let a
// kernel that writes nothing win, so it is refused, through every face (CLI, C++, C, Python).
TEST(PrecisionPolicyTest, ATolerancePassingAnOutputOfZerosIsRefused) {
  for (double tolerance : {1.0, 2.5, 1e308})
    for (const char* name : {"", "fp32", "auto"})
      expect_invalid(name, tolerance, "an output of zeros has a relative error of 1");
  EXPECT_EQ(tolerance_problem(0.999), std::nullopt);
  EXPECT_EQ(tolerance_problem(1e-5), std::nullopt);
  EXPECT_NE(tolerance_problem(1.0), std::nullopt);
  EXPECT_NE(tolerance_problem(std::numeric_limits<double>::infinity()), std::nullopt);
}

MainOp main_op(DataType dtype, bool fp32_output = false) {
  return MainOp{.m = 64, .n = 64, .k = 64, .dtype = dtype, .fp32_output = fp32_output};
}

TEST(PrecisionPolicyTest, NoNameMeansThePrecisionNativeToTheInputs) {
  EXPECT_EQ(make_precision_policy("", std::nullopt).precisions(), std::vector<Precision>{fp32});
  const PrecisionPolicy bf = make_precision_policy("", std::nullopt, main_op(DataType::bf16));
  EXPECT_EQ(bf.precisions(), std::vector<Precision>{bf16});
  // A bf16 output's own rounding is ~2e-3: its default tolerance allows for it.
  EXPECT_EQ(bf.tolerance, 1e-2);
  EXPECT_EQ(make_precision_policy("", std::nullopt, main_op(DataType::fp16)).tolerance, 2e-3);
  EXPECT_EQ(make_precision_policy("", std::nullopt, main_op(DataType::bf16, true)).tolerance, 1e-4);
}

TEST(PrecisionPolicyTest, AutoOnSixteenBitInputsTriesTheirPrecisionOnly) {
  const PrecisionPolicy policy =
      make_precision_policy("auto", std::nullopt, main_op(DataType::fp16));
  EXPECT_EQ(policy.precisions(), std::vector<Precision>{fp16});
  EXPECT_EQ(policy.tolerance, 2e-3);
  // fp32 inputs never run at bf16 or fp16.
  EXPECT_EQ(make_precision_policy("auto", 0.5).precisions(),
            (std::vector<Precision>{tf32, int8x, tf32x3, fp32}));
}

TEST(PrecisionPolicyTest, APrecisionOfOtherInputsIsRefusedNamingTheRightOne) {
  try {
    make_precision_policy("tf32", std::nullopt, main_op(DataType::bf16));
    ADD_FAILURE() << "tf32 accepted for bf16 inputs";
  } catch (const Error& e) {
    EXPECT_NE(e.status().message().find("use --precision bf16"), std::string::npos)
        << e.status().message();
  }
  try {
    make_precision_policy("fp16", std::nullopt);
    ADD_FAILURE() << "fp16 accepted for fp32 inputs";
  } catch (const Error& e) {
    EXPECT_NE(e.status().message().find("write dtype=fp16"), std::string::npos)
        << e.status().message();
  }
}

TEST(ChooseFastestWithinTest, TheFastestWinnerWithinTheToleranceIsChosen) {
  const std::vector<PrecisionWinner> winners = {
      {tf32, 0.40, 2.4e-4}, {tf32x3, 1.28, 2.2e-7}, {fp32, 2.90, 1.6e-6}};
  EXPECT_EQ(choose_fastest_within(winners, 5e-4), 0u);
  EXPECT_EQ(choose_fastest_within(winners, 1e-5), 1u);
  EXPECT_EQ(choose_fastest_within(winners, 1e-6), 1u);
  EXPECT_EQ(choose_fastest_within(winners, 1e-7), std::nullopt);
  EXPECT_EQ(choose_fastest_within({}, 1.0), std::nullopt);
}

TEST(ChooseFastestWithinTest, AMeasuredErrorThatIsNotANumberNeverQualifies) {
  const std::vector<PrecisionWinner> winners = {{tf32, 0.1, std::nan("")}, {fp32, 3.0, 1e-6}};
  EXPECT_EQ(choose_fastest_within(winners, 1.0), 1u);
}

}  // namespace
}  // namespace fusetune
