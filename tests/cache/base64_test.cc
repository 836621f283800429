// Base64 as RFC 4648 defines it: its test vectors, every byte value, and text that is not base64.
#include "cache/base64.h"

#include <gtest/gtest.h>

namespace fusetune::cache {
namespace {

std::vector<char> bytes(std::string_view text) { return {text.begin(), text.end()}; }

TEST(Base64, EncodesTheRfcTestVectors) {
  EXPECT_EQ(base64_encode(bytes("")), "");
  EXPECT_EQ(base64_encode(bytes("f")), "Zg==");
  EXPECT_EQ(base64_encode(bytes("fo")), "Zm8=");
  EXPECT_EQ(base64_encode(bytes("foo")), "Zm9v");
  EXPECT_EQ(base64_encode(bytes("foob")), "Zm9vYg==");
  EXPECT_EQ(base64_encode(bytes("fooba")), "Zm9vYmE=");
  EXPECT_EQ(base64_encode(bytes("foobar")), "Zm9vYmFy");
}

TEST(Base64, DecodesWhatItEncodesForEveryByteValueAndLength) {
  std::vector<char> all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t length : {0, 1, 2, 3, 4, 255, 256}) {
    const std::vector<char> data(all.begin(), all.begin() + length);
    EXPECT_EQ(base64_decode(base64_encode(data)), data) << length;
  }
}

TEST(Base64, RefusesTextThatIsNotPaddedBase64) {
  for (const char* text : {"Zg", "Zg=", "Zm9v!A==", "Z===", "Zg==Zg==", "Zm 9v", "=Zm9"})
    EXPECT_FALSE(base64_decode(text).has_value()) << text;
}

}  // namespace
}  // namespace fusetune::cache
