#include "cache/bounded_json.h"

#include <fmt/format.h>

#include "fusetune/status.h"

namespace fusetune::cache {
namespace {

using Json = nlohmann::json;

[[noreturn]] void refuse(const std::string& message) {
  throw Error(StatusCode::invalid_argument, message);
}

// Thrown from the parser's callback to stop it; caught in parse_json_within.
struct TooDeep {};

// nlohmann's message without its "[json.exception...] " prefix, cut to a readable length (its
// "last read" part quotes the token, which may be a string of any length).
std::string library_message(const Json::exception& e) {
  std::string_view text = e.what();
  if (const std::size_t end = text.find("] "); end != std::string_view::npos)
    text.remove_prefix(end + 2);
  constexpr std::size_t kShown = 200;
  return text.size() <= kShown ? std::string(text) : fmt::format("{}...", text.substr(0, kShown));
}

// The token nlohmann quotes in "number overflow parsing '1e400'".
std::string quoted_token(std::string_view text) {
  const std::size_t open = text.find('\'');
  const std::size_t close = text.rfind('\'');
  if (open == std::string_view::npos || close <= open) return "?";
  return std::string(text.substr(open + 1, std::min<std::size_t>(close - open - 1, 40)));
}

std::string under(const std::string& key) {
  return key.empty() ? "" : fmt::format(" (under \"{}\")", key.substr(0, 40));
}

}  // namespace

Json parse_json_within(std::string_view text, const JsonLimits& limits, const std::string& source) {
  if (text.size() > limits.max_bytes) {
    refuse(fmt::format(
        "{}: {} bytes, more than the {} bytes allowed; this is not a file fusetune wrote", source,
        text.size(), limits.max_bytes));
  }
  std::string key;  // the last key read, to say where a problem is
  const Json::parser_callback_t watch = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key) key = parsed.get<std::string>();
    const bool opens =
        event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start;
    if (opens && depth + 1 > limits.max_depth) throw TooDeep{};
    return true;
  };
  try {
    return Json::parse(text, watch);
  } catch (const TooDeep&) {
    refuse(fmt::format("{}: nested more than {} levels deep{}, which no fusetune file is", source,
                       limits.max_depth, under(key)));
  } catch (const Json::out_of_range& e) {
    const std::string number =
        key.empty() ? "a number" : fmt::format("the number after \"{}\"", key.substr(0, 40));
    refuse(fmt::format("{}: {} is out of range ({}): not a number fusetune writes", source, number,
                       quoted_token(e.what())));
  } catch (const Json::exception& e) {
    refuse(fmt::format("{}: not valid JSON ({}); the file is damaged or cut short", source,
                       library_message(e)));
  }
}

std::string json_excerpt(const Json& value, std::size_t max_chars) {
  const std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return text.size() <= max_chars ? text : text.substr(0, max_chars) + "...";
}

}  // namespace fusetune::cache
