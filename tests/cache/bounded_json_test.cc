// JSON from elsewhere, parsed within limits, as a specification: a document larger or deeper
// than allowed, or with a number out of range, is refused with a message that says which limit
// and where; one within them parses as nlohmann's parser would.
#include "cache/bounded_json.h"

#include <gtest/gtest.h>

#include "tests/expect_error.h"

namespace fusetune::cache {
namespace {

constexpr JsonLimits kSmall{.max_bytes = 64, .max_depth = 3};

std::string error_message(std::string_view text) {
  const std::optional<Error> error = error_of([&] { parse_json_within(text, kSmall, "f.json"); });
  return error ? error->what() : "";
}

TEST(BoundedJson, ADocumentWithinTheLimitsParses) {
  const nlohmann::json j = parse_json_within(R"({"a": [1, {"b": 2}]})", kSmall, "f.json");
  EXPECT_EQ(j["a"][1]["b"], 2);
}

TEST(BoundedJson, ADocumentDeeperThanTheLimitIsRefusedWithTheKeyItWasUnder) {
  const std::string message = error_message(R"({"a": [1, {"b": [2]}]})");
  EXPECT_NE(message.find("f.json: nested more than 3 levels deep (under \"b\")"), std::string::npos)
      << message;
  EXPECT_EQ(error_of([&] {
              parse_json_within(std::string(1'000'000, '['),
                                {.max_bytes = 1 << 21, .max_depth = 16}, "f.json");
            })->code(),
            StatusCode::invalid_argument);
}

TEST(BoundedJson, ADocumentLargerThanTheLimitIsRefusedUnread) {
  const std::string message = error_message("[" + std::string(100, ' ') + "]");
  EXPECT_NE(message.find("f.json: 102 bytes, more than the 64 bytes allowed"), std::string::npos)
      << message;
}

TEST(BoundedJson, ANumberOutOfRangeIsNamedWithTheKeyBeforeIt) {
  const std::string message = error_message(R"({"t": 1e400})");
  EXPECT_NE(message.find("f.json: the number after \"t\" is out of range (1e400)"),
            std::string::npos)
      << message;
}

TEST(BoundedJson, TextThatIsNotJsonSaysWhere) {
  const std::string message = error_message(R"({"t": tru})");
  EXPECT_NE(message.find("f.json: not valid JSON"), std::string::npos) << message;
  EXPECT_NE(message.find("line 1, column"), std::string::npos) << message;
}

}  // namespace
}  // namespace fusetune::cache
