#include "tuner/worker_protocol.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fusetune/status.h"
#include "generator/spec_parser.h"
#include "tests/tuner/outcome_printer.h"
#include "tuner/outcome.h"
#include "tuner/row_problems.h"

namespace fusetune {
namespace {

using nlohmann::json;

const Outcome kOutcomes[] = {
    Outcome::ok,           Outcome::slower, Outcome::compile_error, Outcome::out_of_resources,
    Outcome::wrong_result, Outcome::fault,  Outcome::timeout};

void expect_same(const RunReply& actual, const RunReply& expected) {
  EXPECT_EQ(actual.outcome, expected.outcome);
  EXPECT_EQ(actual.time_ms, expected.time_ms);
  EXPECT_EQ(actual.rel_err, expected.rel_err);
  EXPECT_EQ(actual.non_finite, expected.non_finite);
  EXPECT_EQ(actual.launches, expected.launches);
  EXPECT_EQ(actual.message, expected.message);
}

TEST(Outcome, NamesRoundTripForEveryValue) {
  std::vector<std::string> names;
  for (const Outcome outcome : kOutcomes) {
    const std::string_view name = to_string(outcome);
    EXPECT_EQ(outcome_from_string(name), outcome) << name;
    EXPECT_NE(name, "unknown");
    names.emplace_back(name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"ok", "slower", "compile_error", "out_of_resources",
                                             "wrong_result", "fault", "timeout"}));
}

TEST(Outcome, UnknownTextHasNoOutcome) {
  EXPECT_EQ(outcome_from_string(""), std::nullopt);
  EXPECT_EQ(outcome_from_string("OK"), std::nullopt);
  EXPECT_EQ(outcome_from_string("crashed"), std::nullopt);
  EXPECT_EQ(outcome_from_string("ok "), std::nullopt);
}

TEST(Outcome, OnlyOkCanWin) {
  for (const Outcome outcome : kOutcomes)
    EXPECT_EQ(can_win(outcome), outcome == Outcome::ok) << to_string(outcome);
}

TEST(WorkerProtocol, RepliesOfEveryOutcomeRoundTripWithEveryField) {
  for (const Outcome outcome : kOutcomes) {
    RunReply reply;
    reply.outcome = outcome;
    reply.time_ms = 0.123456789012345;
    reply.rel_err = 3.5e-7;
    reply.non_finite = 42;
    reply.launches = 25;
    reply.message = "a \"quoted\" message\nover two lines, with ünïcode";
    const std::string line = encode_reply(reply);
    EXPECT_EQ(line.find('\n'), std::string::npos) << "one reply is one line: " << line;
    SCOPED_TRACE(line);
    expect_same(decode_reply(line), reply);
  }
}

TEST(WorkerProtocol, RepliesRoundTripWithoutTheOptionalFields) {
  for (const Outcome outcome : kOutcomes) {
    RunReply reply;
    reply.outcome = outcome;
    const std::string line = encode_reply(reply);
    const json message = json::parse(line);
    EXPECT_FALSE(message.contains("time_ms")) << line;
    EXPECT_FALSE(message.contains("rel_err")) << line;
    SCOPED_TRACE(line);
    expect_same(decode_reply(line), reply);
  }
}

TEST(WorkerProtocol, RepliesKeepLargeNonFiniteCounts) {
  RunReply reply;
  reply.outcome = Outcome::wrong_result;
  reply.non_finite = 3'000'000'000;  // a 12 GB output, every value NaN
  EXPECT_EQ(decode_reply(encode_reply(reply)).non_finite, reply.non_finite);
}

TEST(WorkerProtocol, DecodesTheSmallestReply) {
  const RunReply reply = decode_reply(R"({"outcome": "timeout"})");
  EXPECT_EQ(reply.outcome, Outcome::timeout);
  EXPECT_EQ(reply.time_ms, std::nullopt);
  EXPECT_EQ(reply.rel_err, std::nullopt);
  EXPECT_EQ(reply.non_finite, 0);
  EXPECT_EQ(reply.launches, 0);
  EXPECT_EQ(reply.message, "");
}

TEST(WorkerProtocol, MalformedRepliesThrowInternalErrorsThatQuoteTheLine) {
  const std::string lines[] = {
      "",
      "not json",
      R"({"outcome": "ok")",
      R"([1, 2, 3])",
      R"({"time_ms": 1.0})",
      R"({"outcome": 3})",
      R"({"outcome": "ok", "time_ms": "fast"})",
      R"({"outcome": "ok", "rel_err": null})",
      R"({"outcome": "ok", "launches": "many"})",
      R"({"outcome": "ok", "message": 7})",
  };
  for (const std::string& line : lines) {
    try {
      decode_reply(line);
      ADD_FAILURE() << "decoded: " << line;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), StatusCode::internal) << line;
      EXPECT_NE(std::string(e.what()).find(line), std::string::npos) << e.what();
    }
  }
}

TEST(WorkerProtocol, ReplyWithAnUnknownOutcomeThrowsInternal) {
  try {
    decode_reply(R"({"outcome": "exploded"})");
    ADD_FAILURE() << "decoded an unknown outcome";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), StatusCode::internal);
  }
}

TEST(WorkerProtocol, TimingOptionsRoundTrip) {
  const TimingOptions timing{.warmup_launches = 3,
                             .min_launches = 7,
                             .min_total_ms = 12.5,
                             .max_launches = 99,
                             .flush_l2 = false,
                             .abandon_above_ms = {},
                             .abandon_check = 4};
  const TimingOptions back = timing_from_json(timing_to_json(timing));
  EXPECT_EQ(back.warmup_launches, 3);
  EXPECT_EQ(back.min_launches, 7);
  EXPECT_EQ(back.min_total_ms, 12.5);
  EXPECT_EQ(back.max_launches, 99);
  EXPECT_FALSE(back.flush_l2);
  EXPECT_EQ(back.abandon_check, 4);
}

TEST(WorkerProtocol, SetupRequestCarriesTheProblem) {
  SetupRequest setup;
  setup.spec = "linear(m=1, n=2, k=3) -> relu";
  setup.seed = 18446744073709551615ull;
  setup.device = 1;
  setup.tolerance = 2e-5;
  setup.timing.min_launches = 11;
  const json message = json::parse(encode_setup(setup));
  EXPECT_EQ(message.at("cmd"), "setup");
  EXPECT_EQ(message.at("spec"), setup.spec);
  EXPECT_EQ(message.at("seed").get<std::uint64_t>(), setup.seed);
  EXPECT_EQ(message.at("device"), 1);
  EXPECT_EQ(message.at("tolerance"), 2e-5);
  EXPECT_EQ(timing_from_json(message.at("timing")).min_launches, 11);
  EXPECT_FALSE(message.contains("recheck_seed"));
  setup.recheck_seed = 42;
  EXPECT_EQ(json::parse(encode_setup(setup)).at("recheck_seed").get<std::uint64_t>(), 42u);
}

TEST(WorkerProtocol, RunRequestCarriesTheLaunchAndOnlyTheOptionsGiven) {
  RunRequest request;
  request.name = "ft_gemm_simt_64x64x16_w2x2_t8x4_s3_n_spread";
  request.cubin_path = "/tmp/scratch/kernel.cubin";
  request.geometry = {{16, 32, 1}, {128, 1, 1}, 62976, {}};
  const json bare = json::parse(encode_run(request));
  EXPECT_EQ(bare.at("cmd"), "run");
  EXPECT_EQ(bare.at("name"), request.name);
  EXPECT_EQ(bare.at("cubin_path"), request.cubin_path);
  EXPECT_EQ(bare.at("grid"), json::array({16, 32, 1}));
  EXPECT_EQ(bare.at("block"), json::array({128, 1, 1}));
  EXPECT_EQ(bare.at("smem"), 62976);
  EXPECT_EQ(bare.at("tensor_maps"), json::array());
  EXPECT_FALSE(bare.contains("abandon_above_ms"));
  EXPECT_FALSE(bare.contains("timing"));

  request.abandon_above_ms = 1.5;
  request.timing = TimingOptions{.warmup_launches = 1,
                                 .min_launches = 5,
                                 .min_total_ms = 0,
                                 .max_launches = 5,
                                 .flush_l2 = true,
                                 .abandon_above_ms = {},
                                 .abandon_check = 3};
  const json full = json::parse(encode_run(request));
  EXPECT_EQ(full.at("abandon_above_ms"), 1.5);
  EXPECT_EQ(timing_from_json(full.at("timing")).max_launches, 5);
}

TEST(WorkerProtocol, ReseedRequestCarriesTheSeed) {
  const json message = json::parse(encode_reseed(1234567890123ull));
  EXPECT_EQ(message.at("cmd"), "reseed");
  EXPECT_EQ(message.at("seed").get<std::uint64_t>(), 1234567890123ull);
}

}  // namespace
TEST(WorkerProtocol, TensorMapsRoundTrip) {
  const std::vector<TensorMapSpec> maps = {{0, 1024, 8192, 128, 32, DataType::fp32, true},
                                           {1, 8192, 8192, 128, 64, DataType::bf16, false}};
  EXPECT_EQ(tensor_maps_from_json(tensor_maps_to_json(maps)), maps);
  RunRequest request;
  request.geometry.tensor_maps = maps;
  EXPECT_EQ(tensor_maps_from_json(json::parse(encode_run(request)).at("tensor_maps")), maps);
}

TEST(WorkerProtocol, TheWholeLaunchGeometryRoundTrips) {
  RunRequest request;
  request.geometry = {{16, 1, 1}, {384, 1, 1}, 200000, {{0, 16, 8192, 64, 32}}, 1 << 20};
  EXPECT_EQ(geometry_from_run(json::parse(encode_run(request))), request.geometry);
  request.geometry.workspace_bytes = 0;
  EXPECT_EQ(geometry_from_run(json::parse(encode_run(request))), request.geometry);
  request.geometry.cluster = 2;  // the worker trims a cluster kernel's grid as the tuner would
  EXPECT_EQ(geometry_from_run(json::parse(encode_run(request))), request.geometry);
  request.geometry.rows = {.tile_rows = 64, .tile_row_blocks = 32, .max_rows = 4096};  // a bucket's
  EXPECT_EQ(geometry_from_run(json::parse(encode_run(request))), request.geometry);
}

TEST(VerifiedRows, ABucketIsVerifiedAtItsLowEndAnOddMiddleAndItsTop) {
  EXPECT_EQ(verified_rows(parse_spec("linear(m=2049..4096, n=8, k=8)").main),
            (std::vector<std::int64_t>{2049, 3073, 4096}));
  EXPECT_EQ(verified_rows(parse_spec("linear(m=1..16, n=8, k=8)").main),
            (std::vector<std::int64_t>{1, 9, 16}));
  EXPECT_EQ(verified_rows(parse_spec("linear(m=4..5, n=8, k=8)").main),
            (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(verified_rows(parse_spec("linear(m=1..2, n=8, k=8)").main),
            (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(verified_rows(parse_spec("linear(m=1000, n=8, k=8)").main),
            (std::vector<std::int64_t>{1000}));
}

}  // namespace fusetune
