#include "generator/generator.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "fusetune/status.h"
#include "generator/kernel_assembly.h"
#include "generator/plan.h"
#include "generator/tunables.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

// Stored text in a message: its start, as much as tells what it is, with control characters (an
// escape sequence, were the message printed to a terminal) shown as '?'.
std::string excerpt(std::string_view text) {
  constexpr std::size_t kShown = 160;
  std::string shown(text.substr(0, kShown));
  std::ranges::replace_if(
      shown, [](unsigned char c) { return c < 0x20 || c == 0x7f; }, '?');
  return text.size() <= kShown ? shown : shown + "...";
}

// As for_each_family, the leading families first (KernelFamily::leads): a search's order.
template <class F>
void for_each_family_in_search_order(F&& f) {
  for (const bool leading : {true, false})
    for_each_family([&](const auto& family) {
      if (family.leads == leading) f(family);
    });
}

// Calls f(family, config) with the family unit of `config`.
template <class F>
decltype(auto) with_family(const KernelConfig& config, F&& f) {
  return std::visit([&](const auto& c) -> decltype(auto) { return f(family_of(c), c); }, config);
}

template <class C>
bool fuses_pool(const KernelFamily<C>& family, const Spec& spec) {
  return family.fuses_pool != nullptr && family.fuses_pool(spec);
}

// What a kernel of `family` computes of `spec`: the part before any finishing kernels.
template <class C>
Spec kernel_spec(const Spec& spec, const KernelFamily<C>& family) {
  return main_kernel_spec(spec, fuses_pool(family, spec));
}

template <class C>
Candidate candidate(const KernelFamily<C>& family, const MainOp& main, const C& config) {
  return {config, procedural_name(family, main, config)};
}

std::optional<std::string> rejection(const Spec& full_spec, const DeviceLimits& limits,
                                     const KernelConfig& config) {
  return with_family(config, [&](const auto& family, const auto& c) -> std::optional<std::string> {
    if (full_spec.main.is_conv() != family.runs_convolutions)
      return full_spec.main.is_conv() ? "a GEMM kernel cannot run a convolution"
                                      : "a convolution kernel cannot run a GEMM";
    if (full_spec.main.is_row_range() && !family.dynamic_rows)
      return fmt::format(
          "{} kernels are compiled for one row count, and a bucket's take theirs "
          "at launch",
          family.name);
    return family.rejection(kernel_spec(full_spec, family), limits, c);
  });
}

// Stored JSON is small and flat (a configuration's deepest value is a triple): anything larger or
// deeper is refused before nlohmann's recursive dump() or comparisons could meet it.
nlohmann::json parse_stored_config(std::string_view json) {
  constexpr std::size_t kMaxBytes = 4096;
  constexpr int kMaxDepth = 2;
  struct TooDeep {};
  const auto refuse = [&](std::string_view why) {
    return Error(StatusCode::invalid_argument,
                 fmt::format("a stored configuration {}: {}", why, excerpt(json)));
  };
  if (json.size() > kMaxBytes) throw refuse(fmt::format("is longer than {} bytes", kMaxBytes));
  try {
    return nlohmann::json::parse(
        json, [](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
          using Event = nlohmann::json::parse_event_t;
          if ((event == Event::object_start || event == Event::array_start) && depth >= kMaxDepth)
            throw TooDeep{};
          return true;
        });
  } catch (const TooDeep&) {
    throw refuse(fmt::format("is nested more than {} levels deep", kMaxDepth));
  } catch (const nlohmann::json::exception&) {
    throw refuse("is not JSON");
  }
}

// "fp32", "fp32 or tf32", "fp32, tf32 or 3xtf32"
std::string listing(const std::vector<std::string_view>& items) {
  if (items.size() < 2) return fmt::format("{}", fmt::join(items, ""));
  return fmt::format("{} or {}", fmt::join(items.begin(), items.end() - 1, ", "), items.back());
}

template <class C>
KernelSource emit(const KernelFamily<C>& family, const Spec& spec, const C& c) {
  KernelParts parts;
  parts.name = procedural_name(family, spec.main, c);
  parts.launch = family.launch(spec, c);
  parts.templates = family.templates;
  // A normalization in the epilogue gathers its statistics with the plans' statistic types.
  const bool reduces = std::ranges::any_of(
      spec.chain, [](const ChainOp& op) { return std::holds_alternative<ReductionOp>(op); });
  if (reduces)
    parts.templates.insert(parts.templates.begin() + 1,
                           {"statistics.cuh", templates::statistics_cuh});
  parts.config = "struct Config {\n" + family.config_head(spec) + tunable_constants(family, c) +
                 family.config_tail(spec, c) + "};\n";
  parts.body = family.body(spec, c);
  parts.min_blocks = family.min_blocks ? family.min_blocks(c) : 1;
  parts.arch_specific =
      family.arch_specific || (family.arch_specific_config && family.arch_specific_config(c));
  KernelSource source = assemble_kernel(spec, parts);
  if (family.preparing) family.preparing(spec, c, source);
  return source;
}

}  // namespace

Precision precision_of(const KernelConfig& config) {
  return std::visit([](const auto& c) { return c.precision(); }, config);
}

std::string config_name(const MainOp& main, const KernelConfig& config) {
  return with_family(
      config, [&](const auto& family, const auto& c) { return procedural_name(family, main, c); });
}

std::vector<Candidate> search_space(const Spec& spec, const DeviceLimits& limits,
                                    Precision precision) {
  std::vector<Candidate> candidates;
  for_each_family_in_search_order([&](const auto& family) {
    if (!family.serves(spec.main, precision)) return;
    for (const auto& c : family.space(kernel_spec(spec, family), limits, precision))
      candidates.push_back(candidate(family, spec.main, c));
  });
  return candidates;
}

std::vector<Candidate> best_predicted(std::vector<Candidate> space, std::size_t limit) {
  if (limit == 0 || space.size() <= limit) return space;
  // One queue per family (the variant's alternative), each in the space's predicted order, the
  // families in the order the space lists them.
  std::vector<std::vector<Candidate>> families;
  std::vector<std::size_t> family_of_alternative(std::variant_size_v<KernelConfig>, space.size());
  for (Candidate& c : space) {
    std::size_t& family = family_of_alternative[c.config.index()];
    if (family == space.size()) {
      family = families.size();
      families.emplace_back();
    }
    families[family].push_back(std::move(c));
  }
  std::vector<Candidate> chosen;
  for (std::size_t rank = 0; chosen.size() < limit; ++rank)
    for (std::vector<Candidate>& family : families)
      if (rank < family.size() && chosen.size() < limit) chosen.push_back(std::move(family[rank]));
  return chosen;
}

std::optional<std::string> missing_family(const Spec& spec, Precision precision) {
  // The precisions some family of the spec's kind serves, and whether one serves `precision`
  // (a family with spec rules only where they accept the spec).
  std::vector<std::string_view> offered;
  bool served = false;
  std::optional<std::string> why;
  for_each_family([&](const auto& family) {
    if (family.runs_convolutions != spec.main.is_conv()) return;
    for (Precision p : family.precisions)
      if (std::ranges::count(offered, to_string(p)) == 0) offered.push_back(to_string(p));
    if (!family.serves(spec.main, precision)) return;
    std::optional<std::string> reason =
        family.spec_rejection ? family.spec_rejection(kernel_spec(spec, family)) : std::nullopt;
    if (!reason) served = true;
    if (!why) why = std::move(reason);
  });
  if (served) return std::nullopt;
  if (!why)
    return fmt::format("{} has no {} kernel family; use --precision {}",
                       main_op_name(spec.main.kind), to_string(precision), listing(offered));
  return fmt::format("'{}' has no kernel at precision {}: {}", spec.canonical(),
                     to_string(precision), *why);
}

Candidate default_candidate(const Spec& spec, const DeviceLimits& limits, Precision precision) {
  if (const std::optional<std::string> why = missing_family(spec, precision))
    throw Error(StatusCode::invalid_argument, *why);
  std::optional<Candidate> chosen;
  for_each_family_in_search_order([&](const auto& family) {
    if (chosen || !family.default_config || !family.serves(spec.main, precision)) return;
    if (const auto c = family.default_config(kernel_spec(spec, family), limits, precision))
      chosen = candidate(family, spec.main, *c);
  });
  if (!chosen)
    throw Error(StatusCode::invalid_argument,
                fmt::format("no kernel family gives a default for '{}' at precision {} on {}",
                            spec.canonical(), to_string(precision), limits.arch));
  return *chosen;
}

Candidate candidate_from_name(const Spec& spec, const DeviceLimits& limits, std::string_view name) {
  // The family whose prefix the name has; a name of none is read as the first family's, whose
  // form the message then shows.
  std::string why;
  std::optional<KernelConfig> config;
  bool claimed = false;
  std::vector<std::string_view> examples;
  for_each_family([&](const auto& family) {
    examples.push_back(family.example);
    if (claimed || !name.starts_with(fmt::format("ft_{}_", family.name))) return;
    claimed = true;
    if (auto c = parse_procedural_name(family, name, &why)) config = *c;
  });
  if (!claimed)
    if (auto c = parse_procedural_name(family_of(std::variant_alternative_t<0, KernelConfig>{}),
                                       name, &why))
      config = *c;
  if (!config)
    throw Error(StatusCode::invalid_argument,
                fmt::format("'{}' names no kernel configuration: {}. Names look like {}; "
                            "'fusetune tune --compile-only --all' lists those of a spec",
                            name, why, fmt::join(examples, " or ")));
  if (const auto reason = rejection(spec, limits, *config))
    throw Error(
        StatusCode::invalid_argument,
        fmt::format("configuration {} cannot run this spec on {}: {}", name, limits.arch, *reason));
  return {*config, config_name(spec.main, *config)};
}

KernelSource generate(const Spec& full_spec, const KernelConfig& config) {
  return with_family(config, [&](const auto& family, const auto& c) {
    // A configuration that holds every channel of a position in one thread also computes a
    // softmax over them: a tile that owns the whole reduced extent, which the search weighs
    // against the others' plans.
    const bool holds_channels = family.holds_channels && family.holds_channels(full_spec, c);
    const Spec spec = main_kernel_spec(full_spec, fuses_pool(family, full_spec), holds_channels);
    return with_finishing_kernels(full_spec, spec, emit(family, spec, c));
  });
}

std::string config_json(const KernelConfig& config) {
  return with_family(
      config, [](const auto& family, const auto& c) { return tunables_to_json(family, c).dump(); });
}

KernelConfig config_from_json(std::string_view json) {
  const nlohmann::json parsed = parse_stored_config(json);
  const nlohmann::json* family_name =
      parsed.is_object() && parsed.contains("family") ? &parsed.at("family") : nullptr;
  if (family_name == nullptr || !family_name->is_string())
    throw Error(StatusCode::invalid_argument,
                fmt::format("a stored configuration is a JSON object naming its \"family\", not "
                            "{}",
                            excerpt(json)));
  std::optional<KernelConfig> config;
  for_each_family([&](const auto& family) {
    if (!config && family.name == family_name->get<std::string>())
      config = tunables_from_json(family, parsed);
  });
  if (!config)
    throw Error(StatusCode::invalid_argument,
                fmt::format("unknown kernel family {} in a stored configuration",
                            excerpt(family_name->dump())));
  return *config;
}

Candidate validated_config(const Spec& spec, const DeviceLimits& limits, std::string_view json) {
  try {
    const KernelConfig config = config_from_json(json);
    if (const std::optional<std::string> why = rejection(spec, limits, config))
      throw Error(StatusCode::invalid_argument,
                  fmt::format("configuration {} cannot run it on {}: {}",
                              excerpt(config_json(config)), limits.arch, *why));
    return {config, config_name(spec.main, config)};
  } catch (const Error& e) {
    throw Error(
        StatusCode::invalid_argument,
        fmt::format("the stored configuration of '{}' is refused: {}", spec.canonical(), e.what()));
  }
}

std::vector<std::string> tunable_settings(const KernelConfig& config) {
  return with_family(config,
                     [](const auto& family, const auto& c) { return tunable_settings(family, c); });
}

std::optional<std::array<int, 2>> block_tile(const KernelConfig& config) {
  return with_family(config,
                     [](const auto& family, const auto& c) -> std::optional<std::array<int, 2>> {
                       if (!family.block_tile) return std::nullopt;
                       return family.block_tile(c);
                     });
}

}  // namespace fusetune
