// The fuzz targets' fixed-count pass in the CPU suite: deterministic mutations of the corpus
// (tests/fuzz/corpus), the same inputs on every run, each checked by the target
// (fuzz_targets.h). FUSETUNE_FUZZ_COUNT and FUSETUNE_FUZZ_SEED run more or other inputs, as
// scripts/fuzz does under the sanitizers; libFuzzer's own runs are there too.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>

#include "tests/fuzz/corpus.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/mutator.h"

namespace fusetune::fuzz {
namespace {

const std::string kFuzzFolder = FUSETUNE_FUZZ_FOLDER;  // tests/fuzz in the source tree

std::uint64_t setting(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

// `input` as a C string literal, cut at 400 bytes, for a failure's message.
std::string shown(const std::string& input) {
  std::string text = "\"";
  for (unsigned char c : input.substr(0, 400)) {
    if (c == '"' || c == '\\')
      text += std::string("\\") + static_cast<char>(c);
    else if (c >= 0x20 && c < 0x7f)
      text += static_cast<char>(c);
    else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      text += escaped;
    }
  }
  return text + (input.size() > 400 ? "\"... (" + std::to_string(input.size()) + " bytes)" : "\"");
}

struct PassResult {
  std::uint64_t inputs = 0;
  std::uint64_t accepted = 0;
};

// Runs `check` on the configured number of mutations; each violated property is a failure that
// shows the input, the first ten of them.
PassResult run_pass(Mutator& mutator, const std::function<bool(const std::string&)>& check) {
  PassResult result;
  int failures = 0;
  const std::uint64_t count = setting("FUSETUNE_FUZZ_COUNT", 20000);
  for (; result.inputs < count && failures < 10; ++result.inputs) {
    const std::string input = mutator.next();
    try {
      if (check(input)) ++result.accepted;
    } catch (const PropertyViolation& e) {
      ++failures;
      ADD_FAILURE() << "input " << result.inputs << ": " << shown(input) << "\n" << e.what();
    }
  }
  return result;
}

TEST(SpecFuzz, EveryCorpusSpecParses) {
  for (const std::string& spec : read_corpus(kFuzzFolder + "/corpus/spec"))
    EXPECT_TRUE(check_spec(spec)) << spec;
}

TEST(SpecFuzz, MutatedSpecsParseAndPrintBackOrAreRefusedWithAMessage) {
  Mutator mutator(setting("FUSETUNE_FUZZ_SEED", 20261207),
                  read_corpus(kFuzzFolder + "/corpus/spec"), "(),=->. \t0123456789",
                  read_dictionary(kFuzzFolder + "/spec.dict"));
  const PassResult result =
      run_pass(mutator, [](const std::string& input) { return check_spec(input); });
  // Enough of the mutations still parse for the round trip to be tried in earnest.
  EXPECT_GT(result.accepted, result.inputs / 50) << result.accepted << " of " << result.inputs;
}

class ImportFuzz : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::path(::testing::TempDir()) /
              ("import_fuzz_" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }
  std::filesystem::path folder_;
};

TEST_F(ImportFuzz, EveryCorpusExportIsAccepted) {
  for (const std::string& file : read_corpus(kFuzzFolder + "/corpus/import"))
    EXPECT_TRUE(check_import(file, folder_.string())) << file.substr(0, 200);
}

TEST_F(ImportFuzz, MutatedExportsImportOrAreRefusedWithAnError) {
  Mutator mutator(setting("FUSETUNE_FUZZ_SEED", 20261207),
                  read_corpus(kFuzzFolder + "/corpus/import"), "{}[]\":,\\ \n0123456789",
                  read_dictionary(kFuzzFolder + "/import.dict"));
  const std::string folder = folder_.string();
  const PassResult result =
      run_pass(mutator, [&](const std::string& input) { return check_import(input, folder); });
  EXPECT_GT(result.accepted, result.inputs / 50) << result.accepted << " of " << result.inputs;
}

}  // namespace
}  // namespace fusetune::fuzz
