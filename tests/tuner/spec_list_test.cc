// A list of specs as a file holds it: a spec per line, comments and blank lines skipped, and
// every bad line named with the parser's caret before anything is returned.
#include "tuner/spec_list.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/expect_error.h"

namespace fusetune {
namespace {

TEST(SpecList, ReadsASpecPerLineSkippingBlanksAndComments) {
  const std::vector<ListedSpec> specs = parse_spec_list(
      "# the seed problems\n"
      "\n"
      "linear(m=64, n=64, k=64) -> relu\n"
      "   \t\n"
      "  linear(m=64,n=64,k=64)->mul(2) # a scalar\r\n"
      "linear(m=64, n=64, k=64) -> relu",
      "list.txt");
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].line, 3);
  EXPECT_EQ(specs[0].spec.canonical(), "linear(m=64, n=64, k=64) -> relu");
  EXPECT_EQ(specs[1].line, 5);
  EXPECT_EQ(specs[1].spec.canonical(), "linear(m=64, n=64, k=64) -> mul(2.0)");
  EXPECT_EQ(specs[2].line, 6) << "the last line needs no newline; duplicates are kept here";
}

TEST(SpecList, NamesEveryLineThatDoesNotParseWithTheParsersCaret) {
  const std::optional<Error> error = error_of([] {
    parse_spec_list(
        "linear(m=64, n=64, k=64) -> relu\n"
        "linear(m=64, n=64, k=64) -> mul(2.0\n"
        "# fine\n"
        "lineer(m=64, n=64, k=64)\n",
        "list.txt");
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), StatusCode::invalid_spec);
  const std::string message = error->what();
  EXPECT_NE(message.find("list.txt:2: invalid spec: "), std::string::npos) << message;
  EXPECT_NE(message.find("list.txt:4: invalid spec: "), std::string::npos) << message;
  EXPECT_EQ(message.find("list.txt:1:"), std::string::npos) << message;
  EXPECT_NE(message.find("\n  linear(m=64, n=64, k=64) -> mul(2.0\n"), std::string::npos)
      << message;
  EXPECT_NE(message.find('^'), std::string::npos) << message;
}

TEST(SpecList, AListWithoutASpecIsAnError) {
  const std::optional<Error> error = error_of([] { parse_spec_list("# nothing\n\n", "empty"); });
  ASSERT_TRUE(error);
  EXPECT_EQ(std::string(error->what()),
            "empty names no spec: write one per line ('#' starts a comment)");
}

}  // namespace
}  // namespace fusetune
