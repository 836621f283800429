// Stored configurations as a specification: a configuration read back from a tuning database or a
// file from elsewhere passes the checks a generated one does (every tunable of its family present,
// of its type and in range, and the family's rules for the spec and device) before anything uses
// it; a bad one is refused with a message naming the spec and the tunable at fault, and whatever
// a configuration's JSON holds, reading, checking and generating never crashes.
#include <gtest/gtest.h>

#include <climits>
#include <set>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

using Json = nlohmann::json;

// A spec for each family: GEMMs large and matrix-vector, 16-bit, convolutions plain and pooled.
const char* const kSpecs[] = {
    "linear(m=1024, n=1024, k=1024) -> bias -> relu",
    "linear(m=8, n=1000, k=4096) -> bias",
    "linear(m=37, n=200, k=3004, dtype=bf16) -> bias -> gelu(tanh)",
    "conv2d(n=2, c=16, h=19, w=23, k=32, kernel=3, padding=1) -> bias -> relu",
    "conv_transpose3d(n=1, c=4, d=6, h=6, w=6, k=8, kernel=3, stride=2, padding=1, "
    "output_padding=1) -> leaky_relu(0.2) -> max_pool3d(2)",
};

DeviceLimits sm90() { return *DeviceLimits::for_arch("sm_90"); }

// Every eighth candidate of each precision's space, so that each family's settings vary.
std::vector<Candidate> sample(const Spec& spec, const DeviceLimits& limits) {
  std::vector<Candidate> chosen;
  for (Precision precision : kPrecisions) {
    const std::vector<Candidate> space = search_space(spec, limits, precision);
    for (std::size_t i = 0; i < space.size(); i += 8) chosen.push_back(space[i]);
  }
  return chosen;
}

TEST(StoredConfig, EveryGeneratedConfigurationIsAcceptedAsItWasWithItsName) {
  for (const char* text : kSpecs) {
    const Spec spec = parse_spec(text);
    for (const Candidate& c : sample(spec, sm90())) {
      const Candidate back = validated_config(spec, sm90(), config_json(c.config));
      EXPECT_EQ(back.config, c.config) << c.name;
      EXPECT_EQ(back.name, c.name);
    }
  }
}

// Values no tunable of any family may hold, and values some may.
const std::vector<Json> kValues = {0,           -1,   1,     2,       3,       7,
                                   64,          4096, 65536, INT_MIN, INT_MAX, 2147483648u,
                                   -2147483649, 3.5,  "x",   nullptr, true,    Json::array({1, 2})};

// Each tunable of a sample of each family's configurations set to each of kValues: the
// configuration is refused with an error, or accepted and generated, but nothing crashes (before
// this check, 88 of 948 such configurations divided by zero in the generator).
TEST(StoredConfig, AnyValueOfAnyTunableIsRefusedOrGeneratesWithoutCrashing) {
  int refused = 0, accepted = 0;
  std::set<std::string> families;
  for (const char* text : kSpecs) {
    const Spec spec = parse_spec(text);
    for (const Candidate& c : sample(spec, sm90())) {
      const Json original = Json::parse(config_json(c.config));
      families.insert(original.at("family"));
      for (const auto& [key, kept] : original.items()) {
        if (key == "family") continue;
        for (const Json& value : kValues) {
          Json mutated = original;
          mutated[key] = value;
          try {
            const Candidate candidate = validated_config(spec, sm90(), mutated.dump());
            EXPECT_FALSE(generate(spec, candidate.config).code.empty());
            ++accepted;
          } catch (const Error& e) {
            EXPECT_EQ(e.code(), StatusCode::invalid_argument);
            ++refused;
          }
        }
      }
    }
  }
  EXPECT_EQ(families.size(), std::variant_size_v<KernelConfig>) << "every family's tunables";
  EXPECT_GT(refused, 1000);
  EXPECT_GT(accepted, 100);
}

TEST(StoredConfig, AValueOutOfRangeIsRefusedNamingTheSpecAndTheTunable) {
  const Spec spec = parse_spec(kSpecs[0]);
  const Json good =
      Json::parse(config_json(default_candidate(spec, sm90(), Precision::fp32).config));
  for (const Json& bad : {Json(0), Json(-1), Json(INT_MIN), Json(65536), Json(3.5), Json("8")}) {
    Json json = good;
    json["bk"] = bad;
    const std::optional<Error> error =
        error_of([&] { validated_config(spec, sm90(), json.dump()); });
    ASSERT_TRUE(error) << bad;
    const std::string message = error->what();
    EXPECT_NE(message.find(spec.canonical()), std::string::npos) << message;
    EXPECT_NE(message.find("gemm_simt.bk"), std::string::npos) << message;
  }
  Json missing = good;
  missing.erase("stages");
  const std::optional<Error> error =
      error_of([&] { validated_config(spec, sm90(), missing.dump()); });
  ASSERT_TRUE(error);
  EXPECT_NE(std::string(error->what()).find("gemm_simt.stages is missing"), std::string::npos)
      << error->what();
}

TEST(StoredConfig, AConfigurationTheRulesRefuseForThisSpecIsRefusedWithTheirReason) {
  const Spec gemm = parse_spec(kSpecs[0]);
  const Spec conv = parse_spec(kSpecs[3]);
  const std::string conv_config =
      config_json(default_candidate(conv, sm90(), Precision::fp32).config);
  const std::optional<Error> error = error_of([&] { validated_config(gemm, sm90(), conv_config); });
  ASSERT_TRUE(error);
  EXPECT_NE(std::string(error->what()).find("a convolution kernel cannot run a GEMM"),
            std::string::npos)
      << error->what();
  EXPECT_NE(std::string(error->what()).find(gemm.canonical()), std::string::npos);
}

TEST(StoredConfig, TextThatIsNoConfigurationIsRefusedWithoutCrashing) {
  const Spec spec = parse_spec(kSpecs[0]);
  for (const std::string& text :
       {std::string("{}"), std::string("[]"), std::string("not json"), std::string("1e400"),
        std::string(R"({"family": "gemm_tiled"})"), std::string(R"({"family": 7})"),
        std::string(100'000, '[') + std::string(100'000, ']'),
        R"({"family": "gemm_simt", "x": )" + std::string(100'000, '[') + std::string(100'000, ']') +
            "}",
        R"({"family": "gemm_simt", "pad": ")" + std::string(1 << 20, ' ') + "\"}"}) {
    const std::optional<Error> error = error_of([&] { validated_config(spec, sm90(), text); });
    ASSERT_TRUE(error) << text.substr(0, 40);
    EXPECT_EQ(error->code(), StatusCode::invalid_argument);
    EXPECT_LT(std::string(error->what()).size(), 1000u) << "no text of any length quoted whole";
  }
}

}  // namespace
}  // namespace fusetune
