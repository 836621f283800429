// A spec is text from outside (an argument, a --specs line, a Python string): parsing and
// printing it are linear in its length, and a spec over 1 MiB is refused before it is read.
#include <gtest/gtest.h>
#include <time.h>

#include <functional>
#include <string>
#include <vector>

#include "generator/spec_parser.h"

namespace fusetune {
namespace {

// The CPU time this thread spends on `work`: what the parser costs, whatever else the machine
// runs (wall time on a loaded two-core CI machine made the bounds below flaky).
double seconds_of(const std::function<void()>& work) {
  auto now = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
  };
  const double start = now();
  work();
  return now() - start;
}

std::string chain_of(const std::string& op, std::size_t bytes) {
  std::string text = "linear(m=64, n=64, k=64)";
  while (text.size() + op.size() + 4 <= bytes) text += " -> " + op;
  return text;
}

TEST(SpecLength, ASpecOfMoreThanOneMebibyteIsRefusedUnread) {
  EXPECT_EQ(kMaxSpecBytes, 1u << 20);
  const std::string longest = chain_of("relu", kMaxSpecBytes);
  EXPECT_NO_THROW(parse_spec(longest + std::string(kMaxSpecBytes - longest.size(), ' ')));

  const std::string text = longest + std::string(kMaxSpecBytes - longest.size(), ' ') + "->relu";
  try {
    parse_spec(text);
    ADD_FAILURE() << "parsed a spec of " << text.size() << " bytes";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.position(), kMaxSpecBytes);
    // The message shows the spec's first 64 bytes, the caret after them.
    const std::string shown =
        "linear(m=64, n=64, k=64) -> relu -> relu -> relu -> relu -> relu ...";
    EXPECT_EQ(std::string(e.what()),
              "invalid spec: the spec is 1048582 bytes long, and a spec may have at most "
              "1048576 (1 MiB)\n  " +
                  shown + "\n" + std::string(2 + shown.size(), ' ') + "^");
  }
}

// An 800 KB chain once took 116 s to parse (the chain was compiled again for every op). Each
// spec here is close to the limit; before and after parsing, nothing may take more than a
// fraction of a second (the bound leaves a factor of ten for slow machines).
TEST(SpecLength, ParsingAndPrintingAreLinearInTheSpecsLength) {
  const std::size_t size = kMaxSpecBytes - 64;
  std::string twenty_thousand_relus = chain_of("relu", 24 + 20000 * 8);
  const std::vector<std::string> parsing = {
      twenty_thousand_relus,
      chain_of("relu", size),
      chain_of("softmax(dim=1)", size),
      chain_of("sum(dim=1, keepdim=true)", size),
      chain_of("gelu(tanh)", size),
      "conv2d(n=1, c=1, h=4, w=4, k=1, kernel=1)" + chain_of("max_pool2d(1)", size - 64).substr(24),
  };
  for (const std::string& text : parsing) {
    const double seconds = seconds_of([&] {
      const Spec spec = parse_spec(text);
      EXPECT_EQ(parse_spec(spec.canonical()), spec);
      EXPECT_EQ(spec.signature().empty(), false);
      spec.tensors();
      spec.output_shape();
    });
    EXPECT_LT(seconds, 1.0) << text.substr(0, 60) << "... (" << text.size() << " bytes)";
  }
  EXPECT_EQ(parse_spec(twenty_thousand_relus).chain.size(), 20000u);

  // Refusals, whose messages suggest a spelling or quote the spec.
  const std::vector<std::string> refused = {
      "linear(m=64, n=64, k=64) -> " + std::string(size, 'r'),
      std::string(size, 'l') + "(m=1)",
      "linear(m=64, n=64, k=64) -> sum(" + std::string(size, 'd') + "=1)",
      "linear(" + std::string(size, 'm') + "=1)",
      "linear(m=64, n=64, k=64) -> mul(" + std::string(size, '1') + ")",
      "linear(m=64, n=64, k=64) -> sum(dim=(" +
          [&] {
            std::string dims;
            while (dims.size() < size) dims += "0,";
            return dims;
          }() +
          "0))",
  };
  for (const std::string& text : refused) {
    const double seconds = seconds_of([&] { EXPECT_THROW(parse_spec(text), SpecError); });
    EXPECT_LT(seconds, 1.0) << text.substr(0, 60) << "... (" << text.size() << " bytes)";
  }
}

}  // namespace
}  // namespace fusetune
