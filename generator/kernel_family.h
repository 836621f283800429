// A kernel family as one unit: the tunables of its configuration as a table, from which its
// procedural names, their parser, its JSON and the tunables' constants in its kernels' `struct
// Config` follow (generator/tunables.h); its rules, cost model and search space; and the parts
// of its kernels' source that are not tunables. Each family's .cc defines one and returns it from
// its family_of(); KernelConfig (generator.h) lists every family, and the generator loops over
// that list instead of naming families.
#pragma once

#include <algorithm>
#include <array>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "generator/device_limits.h"
#include "generator/kernel_source.h"
#include "generator/precision.h"
#include "generator/spec.h"
#include "generator/tile_grid.h"

namespace fusetune {

// The class and the type of a pointer to a member (a data member or a member function).
template <class>
struct MemberPointer;
template <class C, class T>
struct MemberPointer<T C::*> {
  using Class = C;
  using Type = T;
};
template <auto kMember>
using ClassOf = typename MemberPointer<decltype(kMember)>::Class;

// ---- the tunables: JSON and the emitted Config ----

// A tunable of enum type, which JSON spells as a word: words[i] is its enumerator of value i.
template <class C>
struct Spelled {
  int (*get)(const C&) = nullptr;
  void (*set)(C&, int) = nullptr;
  std::vector<std::string_view> words = {};
};

template <auto kMember>
Spelled<ClassOf<kMember>> spelled(std::vector<std::string_view> words) {
  using C = ClassOf<kMember>;
  using T = typename MemberPointer<decltype(kMember)>::Type;
  return {[](const C& c) { return static_cast<int>(c.*kMember); },
          [](C& c, int value) { c.*kMember = static_cast<T>(value); }, std::move(words)};
}

// The spellings of DataType's enumerators, in order ("fp32", "bf16", "fp16").
std::vector<std::string_view> data_type_words();

// Whether a tunable's constant in the emitted Config starts a declaration of its own or joins
// the one before (`static constexpr int WARPS_M = 2, WARPS_N = 2;`).
enum class ConfigLine { own, joined };

// The largest value of any tunable read from a stored configuration: four digits, the most any
// procedural name spells. A value beyond it is no configuration the generator makes, and the
// products of a few tunables stay within an int.
inline constexpr int kMostTunable = 9999;

template <class C>
struct Tunable {
  std::string_view key;  // in the JSON, and in "key=value" listings of settings
  std::variant<int C::*, bool C::*, std::array<int, 3> C::*, Spelled<C>> member;
  // Its constant in the emitted Config ("WARPS_M"); empty: none. A triple declares three:
  // <constant>_D, <constant>_H and <constant>_W.
  std::string_view constant = {};
  ConfigLine line = ConfigLine::own;
  // What a stored configuration without the key holds (stored before the tunable existed; an
  // enum's word index); nullopt: the key is required.
  std::optional<int> absent = std::nullopt;
  bool (*declared)(const C&) = nullptr;             // in the Config only where this holds
  std::string_view (*comment)(const C&) = nullptr;  // after its declaration in the Config
  // The least value an int (or each of a triple) read from a stored configuration may hold, up
  // to kMostTunable: 0 only for a tunable that one setting of another leaves unused.
  int least = 1;
};

// ---- the procedural name ----

// How a part of a name reads its value from a configuration, and sets it back. `set` is
// nullptr for a value derived from several tunables (a block tile: warps times thread tiles),
// which the family's resolve_name turns back into tunables.
template <class C>
struct NameValue {
  int (*get)(const C&) = nullptr;
  void (*set)(C&, int) = nullptr;
};

// A data member of int, bool or enum type, as it is.
template <auto kMember>
NameValue<ClassOf<kMember>> field() {
  using C = ClassOf<kMember>;
  using T = typename MemberPointer<decltype(kMember)>::Type;
  return {[](const C& c) { return static_cast<int>(c.*kMember); },
          [](C& c, int value) { c.*kMember = static_cast<T>(value); }};
}

// Element kIndex of a std::array<int, N> member.
template <auto kMember, int kIndex>
NameValue<ClassOf<kMember>> element() {
  using C = ClassOf<kMember>;
  return {[](const C& c) { return (c.*kMember)[kIndex]; },
          [](C& c, int value) { (c.*kMember)[kIndex] = value; }};
}

// What a const member function computes from the tunables (block_m()).
template <auto kFunction>
NameValue<ClassOf<kFunction>> derived() {
  return {[](const ClassOf<kFunction>& c) { return (c.*kFunction)(); }};
}

enum class NamePartKind {
  number,  // text, then the value in decimal: "_w2"
  word,    // text, then the word of the value: "_rows"
  flag,    // text where the value is nonzero: "_spread"
};

template <class C>
struct NamePart {
  NamePartKind kind = NamePartKind::number;
  std::string_view text = {};   // before the value ("_w"); a flag's whole text ("_spread")
  std::string_view label = {};  // a number's placeholder in the name's form ("WM")
  int digits = 0;               // the most digits a number has: every size then fits an int
  std::vector<std::string_view> words = {};  // a word's spellings, words[i] of value i
  NameValue<C> value = {};
  // An optional part (every flag) is left out of a name where its value is `absent` (where
  // `shown` says so, if given) and read as `absent` from a name without it.
  std::optional<int> absent = std::nullopt;
  bool (*shown)(const MainOp&, const C&) = nullptr;
};

template <class C>
NamePart<C> number(std::string_view text, std::string_view label, int digits, NameValue<C> value) {
  return {
      .kind = NamePartKind::number, .text = text, .label = label, .digits = digits, .value = value};
}

template <class C>
NamePart<C> optional_number(
    std::string_view text, std::string_view label, int digits, NameValue<C> value, int absent,
    std::type_identity_t<bool (*)(const MainOp&, const C&)> shown = nullptr) {
  NamePart<C> part = number(text, label, digits, value);
  part.absent = absent;
  part.shown = shown;
  return part;
}

template <class C>
NamePart<C> word(std::string_view text, std::vector<std::string_view> words, NameValue<C> value) {
  return {.kind = NamePartKind::word, .text = text, .words = std::move(words), .value = value};
}

template <class C>
NamePart<C> flag(std::string_view text, NameValue<C> value) {
  return {.kind = NamePartKind::flag, .text = text, .value = value, .absent = 0};
}

// A tensor-core configuration's precision as a word of its name, one of kPrecisions (an array
// of static storage): reading it back sets `passes` (3 for 3xTF32) and, where the configuration
// has one, `dtype`.
template <class C, const auto& kPrecisions>
NamePart<C> precision_word() {
  std::vector<std::string_view> words;
  for (Precision p : kPrecisions) words.push_back(to_string(p));
  const NameValue<C> value{
      [](const C& c) {
        return static_cast<int>(
            std::distance(std::begin(kPrecisions), std::ranges::find(kPrecisions, c.precision())));
      },
      [](C& c, int i) {
        c.passes = kPrecisions[i] == Precision::tf32x3 ? 3 : 1;
        if constexpr (requires { c.dtype; }) c.dtype = input_type(kPrecisions[i]);
      }};
  return word<C>("_", std::move(words), value);
}

// ---- the family ----

// What families compute at: FFMA; TF32 and 3xTF32 on fp32 data; those and 16-bit inputs.
inline constexpr Precision kFp32Only[] = {Precision::fp32};
inline constexpr Precision kTf32Precisions[] = {Precision::tf32, Precision::tf32x3};
inline constexpr Precision kTensorCorePrecisions[] = {Precision::tf32, Precision::tf32x3,
                                                      Precision::bf16, Precision::fp16};
inline constexpr Precision kInt8xPrecisions[] = {Precision::int8x};

template <class C>
struct KernelFamily {
  std::string_view name = {};                  // the JSON's "family"; its names start ft_<name>_
  std::string_view example = {};               // one of its procedural names, for messages
  bool runs_convolutions = false;              // else GEMMs
  std::span<const Precision> precisions = {};  // what its kernels compute at
  // Whether its kernels pool a spec's first pool step in their epilogue; nullptr (and false)
  // leave pool steps to a plan's finishing kernels.
  bool (*fuses_pool)(const Spec&) = nullptr;
  // Whether a thread of its kernel with this configuration holds every channel of its
  // positions, so that a softmax over the channels runs in the epilogue (main_kernel_spec's
  // holds_channels); nullptr: never.
  bool (*holds_channels)(const Spec&, const C&) = nullptr;
  // Its kernels take their row count at launch (LaunchArgs::rows, a bucket: m=lo..hi); the
  // others are left out of a bucket's search.
  bool dynamic_rows = false;
  // Where it applies it is predicted faster than the other families of its precision: its
  // candidates come first (the matrix-vector family for M <= 16, warpgroup MMA on sm_90).
  bool leads = false;

  std::vector<Tunable<C>> tunables = {};
  std::vector<NamePart<C>> name_parts = {};
  // The edges a spec's shape leaves unaligned: names end in guard_suffix of them. nullptr: the
  // family has no guards.
  EdgeGuards (*edge_guards)(const MainOp&, const C&) = nullptr;
  // Once a name's parts are read: sets what its derived parts encode (in name order) and says
  // why the name describes no configuration, if it does not.
  std::optional<std::string> (*resolve_name)(C&, std::span<const int> derived) = nullptr;

  // The search. Every hook sees the part of the spec the family's kernels compute
  // (main_kernel_spec with fuses_pool), and is asked only at one of `precisions`.
  std::vector<C> (*space)(const Spec&, const DeviceLimits&, Precision) = nullptr;  // best first
  std::optional<std::string> (*rejection)(const Spec&, const DeviceLimits&, const C&) = nullptr;
  // Why no configuration runs the spec (a transposed convolution); nullptr: none such.
  std::optional<std::string> (*spec_rejection)(const Spec&) = nullptr;
  // The configuration for a spec never tuned; nullopt leaves the choice to the next family.
  // Throws fusetune::Error where no kernel can run the spec. nullptr: never the default.
  std::optional<C> (*default_config)(const Spec&, const DeviceLimits&, Precision) = nullptr;

  // The kernel's source: the templates, then `struct Config {` the head's constants (the
  // shape), the tunables', the tail's (guards, derived sizes) `};`, then an entry whose body
  // calls the template.
  std::vector<std::pair<std::string_view, std::string_view>> templates = {};  // {file, text}
  std::string (*config_head)(const Spec&) = nullptr;
  std::string (*config_tail)(const Spec&, const C&) = nullptr;
  std::string (*body)(const Spec&, const C&) = nullptr;
  LaunchGeometry (*launch)(const Spec&, const C&) = nullptr;
  int (*min_blocks)(const C&) = nullptr;  // __launch_bounds__ blocks per SM; nullptr: 1
  bool arch_specific = false;             // compiled for sm_90a rather than sm_90
  // Where only some configurations are (a family with an sm_90a engine): which; nullptr: none.
  bool (*arch_specific_config)(const C&) = nullptr;

  // The block tile (rows, columns) a tuned configuration keeps at a nearby shape
  // (shape_neighbors.h); nullptr: none that compares.
  std::optional<std::array<int, 2>> (*block_tile)(const C&) = nullptr;
  // Adds the kernels that run before the main one to its source and plan (FinishingPlan::
  // preparing: the int8x family's slicing passes); nullptr: none.
  void (*preparing)(const Spec&, const C&, KernelSource&) = nullptr;

  bool serves(const MainOp& main, Precision precision) const {
    return runs_convolutions == main.is_conv() && (dynamic_rows || !main.is_row_range()) &&
           std::ranges::count(precisions, precision) > 0;
  }
};

// ---- pieces that several families share ----

// "a 100x128 block tile does not split into 2x4 warps of 16x8 MMA tiles"
std::string mma_split_reason(int block_m, int block_n, int warps_m, int warps_n);

// resolve_name of the families whose names give the block tile (derived parts BM, BN) and the
// warps of 16x8 MMA tiles: sets mma_tiles_m and mma_tiles_n.
template <class C>
std::optional<std::string> resolve_mma_tiles(C& c, std::span<const int> block) {
  const int block_m = block[0], block_n = block[1];
  if (c.warps_m <= 0 || c.warps_n <= 0 || block_m <= 0 || block_n <= 0 ||
      block_m % (16 * c.warps_m) != 0 || block_n % (8 * c.warps_n) != 0)
    return mma_split_reason(block_m, block_n, c.warps_m, c.warps_n);
  c.mma_tiles_m = block_m / (16 * c.warps_m);
  c.mma_tiles_n = block_n / (8 * c.warps_n);
  return std::nullopt;
}

}  // namespace fusetune
