// Buckets of row counts in the spec language: m=lo..hi reads, prints back as the tuning key,
// says which shapes its kernel serves, and is refused with a caret where a bucket cannot be.
#include <gtest/gtest.h>

#include <string>

#include "generator/spec_parser.h"

namespace fusetune {
namespace {

constexpr const char* kBucket =
    "linear(m=2049..4096, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";

// The SpecError that parsing `text` throws; a test failure when it parses.
SpecError parse_error(std::string_view text) {
  try {
    parse_spec(text);
  } catch (const SpecError& error) {
    return error;
  }
  ADD_FAILURE() << "parsed without an error: " << text;
  return SpecError("(none)", text, 0);
}

// Where the caret of `text`'s error points: the offset of `at` in `text`.
void expect_refused_at(const std::string& text, const std::string& at, const std::string& says) {
  SCOPED_TRACE(text);
  const SpecError error = parse_error(text);
  EXPECT_EQ(error.position(), text.find(at)) << error.what();
  EXPECT_NE(std::string(error.what()).find(says), std::string::npos) << error.what();
}

TEST(RowRangeSpec, ARangeOfMIsABucketWhoseTopIsM) {
  const Spec spec = parse_spec(kBucket);
  EXPECT_TRUE(spec.main.is_row_range());
  EXPECT_EQ(spec.main.m_min, 2049);
  EXPECT_EQ(spec.main.m, 4096);
  EXPECT_EQ(spec.main_shape(), (std::vector<std::int64_t>{4096, 8192}));
  EXPECT_FALSE(parse_spec("linear(m=4096, n=8192, k=8192)").main.is_row_range());
}

TEST(RowRangeSpec, CanonicalTextRoundTripsAndKeysTheTuning) {
  const Spec spec = parse_spec("matmul(k=64, m = 1 .. 16, n=32) -> add(row) -> relu");
  EXPECT_EQ(spec.canonical(), "matmul(m=1..16, n=32, k=64) -> add(row) -> relu");
  EXPECT_EQ(parse_spec(spec.canonical()), spec);
  EXPECT_EQ(parse_spec(kBucket).canonical(), kBucket);
  EXPECT_EQ(parse_spec(kBucket).signature(),
            "linear(m=2049..4096, n=8192, k=8192) -> bias -> mul(_) -> leaky_relu(_)");
  // Another range is another tuning.
  EXPECT_NE(parse_spec("linear(m=1..16, n=8, k=8)").signature(),
            parse_spec("linear(m=1..32, n=8, k=8)").signature());
}

TEST(RowRangeSpec, ABucketServesEveryRowCountOfItsRangeAndNothingElse) {
  const Spec bucket = parse_spec(kBucket);
  auto serves = [&](const std::string& text) { return bucket.serves_rows_of(parse_spec(text)); };
  EXPECT_TRUE(serves("linear(m=3000, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"));
  EXPECT_TRUE(serves("linear(m=2049, n=8192, k=8192) -> bias -> mul(3.5) -> leaky_relu(0.2)"));
  EXPECT_TRUE(serves("linear(m=4096, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"));
  EXPECT_FALSE(serves("linear(m=2048, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"));
  EXPECT_FALSE(serves("linear(m=4097, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"));
  EXPECT_FALSE(serves("linear(m=3000, n=4096, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"));
  EXPECT_FALSE(serves("linear(m=3000, n=8192, k=8192) -> bias -> mul(2.0) -> relu"));
  EXPECT_FALSE(serves("matmul(m=3000, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"));
  EXPECT_FALSE(serves(kBucket)) << "a bucket serves calls, not other buckets";
  EXPECT_FALSE(parse_spec("linear(m=3000, n=8192, k=8192)")
                   .serves_rows_of(parse_spec("linear(m=3000, n=8192, k=8192)")));
  EXPECT_EQ(bucket.at_rows(3000).canonical(),
            "linear(m=3000, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)");
}

TEST(RowRangeSpec, RowOperandsAndFullTensorsFollowTheRows) {
  const Spec spec = parse_spec("linear(m=17..32, n=64, k=64) -> add(row) -> mul(tensor)");
  EXPECT_EQ(spec.at_rows(20).tensors().at(2).shape, (std::vector<std::int64_t>{20}));
  EXPECT_EQ(spec.at_rows(20).tensors().at(3).shape, (std::vector<std::int64_t>{20, 64}));
}

TEST(RowRangeSpec, BadRangesAreRefusedWithACaret) {
  expect_refused_at("linear(m=64..16, n=8, k=8)", "64", "runs backwards");
  expect_refused_at("linear(m=16..16, n=8, k=8)", "16, n", "holds one row count: write m=16");
  expect_refused_at("linear(m=0..16, n=8, k=8)", "0..", "m must be an integer from 1");
  expect_refused_at("linear(m=1..0, n=8, k=8)", "0, n", "the top of the range m=1..");
  expect_refused_at("linear(m=1.., n=8, k=8)", ", n", "the top of the range");
  expect_refused_at("linear(m=1..2.5, n=8, k=8)", "2.5", "the top of the range");
  expect_refused_at("linear(m=1..16, n=8..16, k=8)", "..16, k", "only m, the rows");
  expect_refused_at("linear(m=1..2000000000, n=8, k=8)", "2000000000", "m=2000000000 is too large");
  expect_refused_at("conv2d(n=1..8, c=3, h=8, w=8, k=4, kernel=3)", "..8", "one batch size");
}

TEST(RowRangeSpec, ChainsABucketKernelCannotServeAreRefused) {
  expect_refused_at("linear(m=1..16, n=8, k=8) -> softmax(dim=1)", "softmax",
                    "elementwise ops only");
  expect_refused_at("linear(m=1..16, n=8, k=8) -> relu -> sum(dim=0)", "sum", "tuned per shape");
  expect_refused_at("matmul(m=1..16, n=8, k=8, transpose_a=true)", "..", "a stored [M, K]");
  EXPECT_NO_THROW(parse_spec("matmul(m=1..16, n=8, k=8, transpose_b=true) -> add(row) -> gelu"));
}

}  // namespace
}  // namespace fusetune
