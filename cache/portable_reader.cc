// Reading and checking the portable export (portable_format.h). Every problem is reported with
// the file, the entry and the field, before anything is imported.
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>
#include <set>

#include "cache/base64.h"
#include "cache/bounded_json.h"
#include "cache/portable_format.h"
#include "cache/sha256.h"
#include "fusetune/status.h"

namespace fusetune::cache {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kOutcomes[] = {"ok",    "slower",  "compile_error", "out_of_resources",
                                          "fault", "timeout", "wrong_result"};

// An export's values are at most five levels deep (document, tunings, a tuning, candidates, a
// candidate): sixteen leave room for later versions.
constexpr JsonLimits kExportLimits{.max_bytes = kPortableMaxBytes, .max_depth = 16};

constexpr const char* kRemedy =
    "The file is not a valid fusetune export; export it again with `fusetune cache export`";

[[noreturn]] void refuse(const std::string& message) {
  throw Error(StatusCode::invalid_argument, message);
}

// "YYYY-MM-DDTHH:MM:SSZ", as the database writes its timestamps.
bool is_timestamp(const std::string& text) {
  constexpr std::string_view kShape = "0000-00-00T00:00:00Z";
  if (text.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (kShape[i] == '0' ? !digit : text[i] != kShape[i]) return false;
  }
  return true;
}

// The fields of one JSON object of the document, read with the checks an import needs.
class Fields {
 public:
  // `where` names the object in messages: "tunings[2] (linear(...), fp32, NVIDIA H100)".
  Fields(const Json& object, std::string where, const std::string& source)
      : object_(object), where_(std::move(where)), source_(source) {
    if (!object_.is_object()) {
      refuse(fmt::format("{}: {} must be a JSON object, not {}. {}", source_, where_,
                         object_.type_name(), kRemedy));
    }
  }

  [[noreturn]] void fail(std::string_view name, std::string_view problem) const {
    refuse(fmt::format("{}: {}: \"{}\" {}. {}", source_, where_, name, problem, kRemedy));
  }

  std::string text(const char* name) const {
    const Json& value = field(name, "a string", &Json::is_string);
    return value.get<std::string>();
  }

  int integer(const char* name, int min) const {
    const Json& value = field(name, "an integer", &Json::is_number_integer);
    const bool fits = value.is_number_unsigned() ? value.get<std::uint64_t>() <= INT_MAX
                                                 : value.get<std::int64_t>() >= INT_MIN &&
                                                       value.get<std::int64_t>() <= INT_MAX;
    if (!fits || value.get<std::int64_t>() < min) {
      fail(name, fmt::format("must be an integer from {} to {}, not {}", min, INT_MAX,
                             json_excerpt(value)));
    }
    return value.get<int>();
  }

  std::optional<double> optional_number(const char* name) const {
    if (object_.contains(name) && object_.at(name).is_null()) return std::nullopt;
    return non_negative(name, field(name, "a number or null", &Json::is_number));
  }

  double number(const char* name) const {
    return non_negative(name, field(name, "a number", &Json::is_number));
  }

  std::string timestamp(const char* name) const {
    std::string value = text(name);
    if (!is_timestamp(value)) {
      fail(name, fmt::format("must be a UTC time as \"2025-01-31T12:00:00Z\", not \"{}\"", value));
    }
    return value;
  }

  const Json& array(const char* name) const { return field(name, "an array", &Json::is_array); }

 private:
  double non_negative(const char* name, const Json& value) const {
    if (value.get<double>() < 0)
      fail(name, fmt::format("must not be negative, not {}", json_excerpt(value)));
    return value.get<double>();
  }

  const Json& field(const char* name, std::string_view expected,
                    bool (Json::*is)() const noexcept) const {
    if (!object_.contains(name)) fail(name, fmt::format("is missing; it must be {}", expected));
    const Json& value = object_.at(name);
    if (!(value.*is)()) fail(name, fmt::format("must be {}, not {}", expected, value.type_name()));
    return value;
  }

  const Json& object_;
  std::string where_;
  const std::string& source_;
};

CandidateRecord read_candidate(const Json& json, const std::string& where,
                               const std::string& source) {
  const Fields f(json, where, source);
  CandidateRecord c{
      .name = f.text("name"),
      .config_json = f.text("config_json"),
      .outcome = f.text("outcome"),
      .time_ms = f.optional_number("time_ms"),
      .rel_err = f.optional_number("rel_err"),
      // Absent from files written before timing spreads were kept.
      .time_noise = json.contains("time_spread") ? f.optional_number("time_spread") : std::nullopt,
      .registers = f.integer("registers", -1),
      .smem_bytes = f.integer("smem_bytes", -1),
      .spill_bytes = f.integer("spill_bytes", -1),
      .message = f.text("message"),
      .binary_key = f.text("binary_key"),
      .measured_at = f.timestamp("measured_at")};
  if (c.name.empty()) f.fail("name", "must not be empty");
  if (std::find(std::begin(kOutcomes), std::end(kOutcomes), c.outcome) == std::end(kOutcomes)) {
    f.fail("outcome", fmt::format("is \"{}\", which is none of ok, slower, compile_error, "
                                  "out_of_resources, fault, timeout, wrong_result",
                                  c.outcome));
  }
  return c;
}

// "tunings[2] (linear(...), fp32, NVIDIA H100)": the entry, and what it is when that is readable.
std::string tuning_where(const Json& json, std::size_t index) {
  std::string where = fmt::format("tunings[{}]", index);
  auto text = [&](const char* name) {
    return json.is_object() && json.contains(name) && json.at(name).is_string()
               ? json.at(name).get<std::string>()
               : "?";
  };
  if (json.is_object() && json.contains("signature")) {
    where +=
        fmt::format(" ({}, {}, {})", text("signature"), text("precision"), text("device_name"));
  }
  return where;
}

PortableTuning read_tuning(const Json& json, std::size_t index, const std::string& source) {
  const std::string where = tuning_where(json, index);
  const Fields f(json, where, source);
  PortableTuning p;
  TuningRecord& t = p.tuning;
  t.key = {
      f.text("signature"),      f.text("precision"),     f.text("device_name"),      f.text("arch"),
      f.integer("sm_count", 0), f.text("nvrtc_version"), f.text("generator_version")};
  if (t.key.signature.empty()) f.fail("signature", "must not be empty");
  t.spec = f.text("spec");
  t.soft_keys.driver_version = f.integer("driver_version", 0);
  // Optional: files written before soft keys beyond the driver were recorded lack it.
  if (const auto state = json.find("device_state"); state != json.end()) {
    if (!state->is_object()) f.fail("device_state", "must be an object");
    read_device_state(state->dump(), t.soft_keys);  // a few levels deep at most
  }
  t.tuning_seconds = f.number("tuning_seconds");
  t.created_at = f.timestamp("created_at");
  t.updated_at = f.timestamp("updated_at");
  t.winner = f.text("winner");
  t.winner_time_ms = f.optional_number("winner_time_ms");
  t.winner_rel_err = f.optional_number("winner_rel_err");
  t.winner_config_json = f.text("winner_config_json");
  std::set<std::string> names;
  const Json& candidates = f.array("candidates");
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const std::string candidate_where = fmt::format("{} candidates[{}]", where, i);
    p.candidates.push_back(read_candidate(candidates[i], candidate_where, source));
    if (!names.insert(p.candidates.back().name).second) {
      Fields(candidates[i], candidate_where, source)
          .fail("name",
                fmt::format("\"{}\" appears twice in the tuning", p.candidates.back().name));
    }
  }
  t.candidate_count = static_cast<int>(p.candidates.size());
  return p;
}

BinaryRecord read_binary(const Json& json, std::size_t index, const std::string& source) {
  std::string where = fmt::format("binaries[{}]", index);
  if (json.is_object() && json.contains("key") && json.at("key").is_string())
    where += fmt::format(" ({})", json.at("key").get<std::string>());
  const Fields f(json, where, source);
  std::optional<std::vector<char>> cubin = base64_decode(f.text("cubin_base64"));
  if (!cubin) f.fail("cubin_base64", "is not base64 text");
  if (sha256_hex(*cubin) != f.text("sha256")) {
    f.fail("sha256", "does not match the cubin: the binary was damaged on the way");
  }
  BinaryRecord b{.key = f.text("key"),
                 .arch = f.text("arch"),
                 .nvrtc_version = f.text("nvrtc_version"),
                 .cubin = std::move(*cubin),
                 .registers = f.integer("registers", -1),
                 .smem_bytes = f.integer("smem_bytes", -1),
                 .spill_bytes = f.integer("spill_bytes", -1),
                 .log = f.text("log")};
  if (b.key.empty()) f.fail("key", "must not be empty");
  return b;
}

void check_header(const Json& document, const std::string& source) {
  if (!document.is_object() || !document.contains("format") ||
      document.at("format") != kPortableFormat) {
    const std::string found = !document.is_object() ? fmt::format("a JSON {}", document.type_name())
                              : document.contains("format")
                                  ? "\"format\" " + json_excerpt(document.at("format"))
                                  : "no \"format\" field";
    refuse(
        fmt::format("{}: not a fusetune export ({}; expected \"format\": \"{}\"). Pass a file "
                    "written by `fusetune cache export`",
                    source, found, kPortableFormat));
  }
  const Fields f(document, "the document", source);
  const int version = f.integer("version", 1);
  if (version > kPortableVersion) {
    refuse(
        fmt::format("{}: written by a newer fusetune (export format version {}; this fusetune "
                    "reads up to version {}). Upgrade fusetune to import it",
                    source, version, kPortableVersion));
  }
}

}  // namespace

PortableExport parse_portable_json(std::string_view text, const std::string& source) {
  const Json document = parse_json_within(text, kExportLimits, source);
  check_header(document, source);
  const Fields f(document, "the document", source);
  PortableExport data;
  data.exported_at = f.timestamp("exported_at");
  std::set<std::vector<std::string>> keys;
  const Json& tunings = f.array("tunings");
  for (std::size_t i = 0; i < tunings.size(); ++i) {
    data.tunings.push_back(read_tuning(tunings[i], i, source));
    const TuningKey& k = data.tunings.back().tuning.key;
    if (!keys.insert({k.signature, k.precision, k.device_name, k.arch, std::to_string(k.sm_count),
                      k.nvrtc_version, k.generator_version})
             .second) {
      refuse(fmt::format("{}: {} has the same key as an earlier tuning. {}", source,
                         tuning_where(tunings[i], i), kRemedy));
    }
  }
  // Exports without --with-binaries may leave the list out.
  const Json empty = Json::array();
  const Json& binaries = document.contains("binaries") ? f.array("binaries") : empty;
  std::set<std::string> binary_keys;
  for (std::size_t i = 0; i < binaries.size(); ++i) {
    data.binaries.push_back(read_binary(binaries[i], i, source));
    if (!binary_keys.insert(data.binaries.back().key).second) {
      refuse(fmt::format("{}: binaries[{}] ({}) appears twice. {}", source, i,
                         data.binaries.back().key, kRemedy));
    }
  }
  return data;
}

}  // namespace fusetune::cache
