// What a kernel family's table (kernel_family.h) gives, for any family: its procedural names and
// their parser, its configurations' JSON, the tunables' constants in its emitted Config, and the
// "family.key=value" settings of a configuration. generator.cc reaches these through
// KernelConfig; the typed forms at the end serve a family's own tests.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "fusetune/status.h"
#include "generator/kernel_family.h"

namespace fusetune {

// ---- the procedural name ----

template <class C>
bool appears_in_name(const NamePart<C>& part, const MainOp& main, const C& c) {
  if (!part.absent) return true;
  if (part.shown) return part.shown(main, c);
  return part.value.get(c) != *part.absent;
}

template <class C>
std::string procedural_name(const KernelFamily<C>& family, const MainOp& main, const C& c) {
  std::string name = fmt::format("ft_{}_", family.name);
  for (const NamePart<C>& part : family.name_parts) {
    if (!appears_in_name(part, main, c)) continue;
    name += part.text;
    if (part.kind == NamePartKind::number) name += std::to_string(part.value.get(c));
    if (part.kind == NamePartKind::word) name += part.words.at(part.value.get(c));
  }
  if (family.edge_guards) name += guard_suffix(family.edge_guards(main, c));
  return name;
}

// What a family's names look like, for messages: ft_gemm_mma_<BM>x<BN>..._<tf32|3xtf32>[_k<S>].
template <class C>
std::string name_form(const KernelFamily<C>& family) {
  std::string form = fmt::format("ft_{}_", family.name);
  for (const NamePart<C>& part : family.name_parts) {
    std::string text(part.text);
    if (part.kind == NamePartKind::number) text += fmt::format("<{}>", part.label);
    if (part.kind == NamePartKind::word) text += fmt::format("<{}>", fmt::join(part.words, "|"));
    form += part.absent ? "[" + text + "]" : text;
  }
  if (family.edge_guards) form += "[_g<m|n|k...>]";
  return form;
}

// The regular expression of a family's names: one group per part, in order; guards ignored.
template <class C>
std::string name_pattern(const KernelFamily<C>& family) {
  std::string pattern = fmt::format("ft_{}_", family.name);
  for (const NamePart<C>& part : family.name_parts) {
    if (part.kind == NamePartKind::flag) {  // the text is the group
      pattern += fmt::format("({})?", part.text);
      continue;
    }
    const std::string text = fmt::format("{}({})", part.text,
                                         part.kind == NamePartKind::number
                                             ? fmt::format("\\d{{1,{}}}", part.digits)
                                             : fmt::format("{}", fmt::join(part.words, "|")));
    pattern += part.absent ? "(?:" + text + ")?" : text;
  }
  if (family.edge_guards) pattern += "(?:_g[mnk]+)?";
  return pattern;
}

// The configuration a name of `family` describes; nullopt, with `why` (if given) saying what is
// wrong, when it is not such a name or its sizes describe no configuration.
template <class C>
std::optional<C> parse_procedural_name(const KernelFamily<C>& family, std::string_view name,
                                       std::string* why) {
  static const std::regex pattern(name_pattern(family));  // one family per configuration type
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(name.begin(), name.end(), match, pattern)) {
    if (why) *why = "it is not of the form " + name_form(family);
    return std::nullopt;
  }
  C c{};
  std::vector<int> derived;
  for (std::size_t i = 0; i < family.name_parts.size(); ++i) {
    const NamePart<C>& part = family.name_parts[i];
    const auto& group = match[static_cast<int>(i) + 1];
    int value = part.absent.value_or(0);
    if (group.matched && part.kind == NamePartKind::number) value = std::stoi(group.str());
    if (group.matched && part.kind == NamePartKind::word)
      value = static_cast<int>(std::ranges::find(part.words, group.str()) - part.words.begin());
    if (group.matched && part.kind == NamePartKind::flag) value = 1;
    if (part.value.set)
      part.value.set(c, value);
    else
      derived.push_back(value);
  }
  if (family.resolve_name) {
    if (std::optional<std::string> reason = family.resolve_name(c, derived)) {
      if (why) *why = std::move(*reason);
      return std::nullopt;
    }
  }
  return c;
}

// ---- JSON ----

template <class C>
nlohmann::json tunables_to_json(const KernelFamily<C>& family, const C& c) {
  nlohmann::json json = {{"family", std::string(family.name)}};
  for (const Tunable<C>& tunable : family.tunables) {
    nlohmann::json& value = json[std::string(tunable.key)];
    std::visit(
        [&](const auto& member) {
          if constexpr (std::is_same_v<std::decay_t<decltype(member)>, Spelled<C>>)
            value = std::string(member.words.at(member.get(c)));
          else
            value = c.*member;
        },
        tunable.member);
  }
  return json;
}

// An int tunable's value in stored JSON: an integer from tunable.least to kMostTunable. Throws
// fusetune::Error (invalid_argument) naming it ("gemm_simt.bk") otherwise.
template <class C>
int stored_int(const KernelFamily<C>& family, const Tunable<C>& tunable,
               const nlohmann::json& value) {
  const bool fits = value.is_number_integer() && value.get<std::int64_t>() >= tunable.least &&
                    value.get<std::int64_t>() <= kMostTunable &&
                    !(value.is_number_unsigned() && value.get<std::uint64_t>() > kMostTunable);
  if (!fits)
    throw Error(
        StatusCode::invalid_argument,
        fmt::format(
            "{}.{} must be an integer from {} to {}, not {}", family.name, tunable.key,
            tunable.least, kMostTunable,
            value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 40)));
  return value.get<int>();
}

// Reads a configuration of `family` from stored JSON, each tunable as its table says: a missing
// key (that has no `absent` value), a value of another type or out of range, or a word that
// names no value throws fusetune::Error (invalid_argument) naming the tunable ("gemm_simt.bk").
template <class C>
C tunables_from_json(const KernelFamily<C>& family, const nlohmann::json& json) {
  C c{};
  for (const Tunable<C>& tunable : family.tunables) {
    const std::string key(tunable.key);
    const auto problem = [&](std::string_view what) {
      return Error(StatusCode::invalid_argument,
                   fmt::format("{}.{} {}", family.name, tunable.key, what));
    };
    const bool stored = json.contains(key);
    if (!stored && !tunable.absent) throw problem("is missing");
    const nlohmann::json& value = stored ? json.at(key) : nlohmann::json();
    std::visit(
        [&](const auto& member) {
          using Member = std::decay_t<decltype(member)>;
          if constexpr (std::is_same_v<Member, Spelled<C>>) {
            if (!stored) return member.set(c, *tunable.absent);
            const auto found = value.is_string()
                                   ? std::ranges::find(member.words, value.get<std::string>())
                                   : member.words.end();
            if (found == member.words.end())
              throw problem(fmt::format("'{}' is none of {}", value.dump().substr(0, 40),
                                        fmt::join(member.words, ", ")));
            member.set(c, static_cast<int>(found - member.words.begin()));
          } else if constexpr (std::is_same_v<Member, std::array<int, 3> C::*>) {
            if (!value.is_array() || value.size() != 3) throw problem("must be three integers");
            for (std::size_t i = 0; i < 3; ++i)
              (c.*member)[i] = stored_int(family, tunable, value[i]);
          } else if constexpr (std::is_same_v<Member, bool C::*>) {
            if (stored && !value.is_boolean()) throw problem("must be true or false");
            c.*member = stored ? value.get<bool>() : *tunable.absent != 0;
          } else {  // an int
            c.*member = stored ? stored_int(family, tunable, value) : *tunable.absent;
          }
        },
        tunable.member);
  }
  return c;
}

// ---- the emitted Config ----

// The tunables' constants, in table order: "  static constexpr int WARPS_M = 2, WARPS_N = 2;\n"
template <class C>
std::string tunable_constants(const KernelFamily<C>& family, const C& c) {
  std::string text;
  std::string_view comment;
  bool open = false;  // a declaration is waiting for its semicolon
  auto close = [&] {
    if (!open) return;
    text += ';';
    if (!comment.empty()) text += fmt::format("  // {}", comment);
    text += '\n';
    comment = {};
    open = false;
  };
  for (const Tunable<C>& tunable : family.tunables) {
    if (tunable.constant.empty() || (tunable.declared && !tunable.declared(c))) continue;
    if (open && tunable.line == ConfigLine::joined) {
      text += ", ";
    } else {
      close();
      const bool is_bool = std::holds_alternative<bool C::*>(tunable.member);
      text += fmt::format("  static constexpr {} ", is_bool ? "bool" : "int");
      open = true;
    }
    std::visit(
        [&](const auto& member) {
          using Member = std::decay_t<decltype(member)>;
          if constexpr (std::is_same_v<Member, std::array<int, 3> C::*>) {
            const std::array<int, 3>& v = c.*member;
            text += fmt::format("{0}_D = {1}, {0}_H = {2}, {0}_W = {3}", tunable.constant, v[0],
                                v[1], v[2]);
          } else if constexpr (std::is_same_v<Member, Spelled<C>>) {
            text += fmt::format("{} = {}", tunable.constant, member.get(c));
          } else {
            text += fmt::format("{} = {}", tunable.constant, c.*member);
          }
        },
        tunable.member);
    if (tunable.comment) comment = tunable.comment(c);
  }
  close();
  return text;
}

// ---- settings ----

// "gemm_simt.warps_m=2", ... for each tunable: what a configuration sets, comparable across
// configurations and families.
template <class C>
std::vector<std::string> tunable_settings(const KernelFamily<C>& family, const C& c) {
  const nlohmann::json json = tunables_to_json(family, c);
  std::vector<std::string> settings;
  for (const Tunable<C>& tunable : family.tunables)
    settings.push_back(fmt::format("{}.{}={}", family.name, tunable.key,
                                   json.at(std::string(tunable.key)).dump()));
  return settings;
}

// ---- typed forms, for a family's own tests ----

template <class C>
std::optional<C> parse_config_name(std::string_view name, std::string* why = nullptr) {
  return parse_procedural_name(family_of(C{}), name, why);
}

template <class C>
requires requires(const C& c) { family_of(c); }
nlohmann::json to_json(const C& c) { return tunables_to_json(family_of(c), c); }

template <class C>
C from_json(const nlohmann::json& json) {
  return tunables_from_json(family_of(C{}), json);
}

}  // namespace fusetune
