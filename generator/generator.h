// The generator's entry points: the search space of a spec at a precision on a device, the
// default for a spec never tuned, and the source of one configuration. GEMMs have these
// template families: SIMT FFMA for fp32, with a matrix-vector family beside it where M <= 16;
// for TF32 and 3xTF32 tensor-core mma.sync (sm_80 and newer) and, on sm_90, warpgroup MMA
// fed by TMA. Convolutions have a direct FFMA family for fp32 and an implicit-GEMM mma.sync
// family for TF32 and 3xTF32 (plain convolutions, no pool).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "generator/conv_mma.h"
#include "generator/conv_simt.h"
#include "generator/device_limits.h"
#include "generator/gemm_int8x.h"
#include "generator/gemm_mma.h"
#include "generator/gemm_simt.h"
#include "generator/gemm_wgmma.h"
#include "generator/gemv_simt.h"
#include "generator/kernel_source.h"
#include "generator/precision.h"
#include "generator/spec.h"

namespace fusetune {

// The registry of kernel families: one configuration type per family, each with its family unit
// (family_of, kernel_family.h). Every entry point below loops over this list; a new family is a
// new alternative. The order is the one in which families are asked (a name of no family's
// prefix is read as the first's), and in which a search space lists them but for those that
// lead (KernelFamily::leads).
using KernelConfig = std::variant<GemmSimtConfig, GemmMmaConfig, GemmWgmmaConfig, ConvSimtConfig,
                                  ConvMmaConfig, GemvSimtConfig, Int8xGemmConfig>;

// Calls f(family) with every family unit (a const KernelFamily<C>&), in KernelConfig's order.
template <class Variant>
struct FamiliesOf;
template <class... Configs>
struct FamiliesOf<std::variant<Configs...>> {
  template <class F>
  static void each(F& f) {
    (f(family_of(Configs{})), ...);
  }
};
template <class F>
void for_each_family(F&& f) {
  FamiliesOf<KernelConfig>::each(f);
}

struct Candidate {
  KernelConfig config;
  std::string name;  // procedural name (depends on the spec's shape through the edge guards)
};

Precision precision_of(const KernelConfig& config);
std::string config_name(const MainOp& main, const KernelConfig& config);

// Every candidate the generator would try for `spec` at `precision` on `limits`, best
// predicted first.
std::vector<Candidate> search_space(const Spec& spec, const DeviceLimits& limits,
                                    Precision precision);

// Why no kernel family serves `spec` at `precision` (a pooled convolution at TF32), with the
// precision to use; nullopt when one does. A family may still rule out every configuration.
std::optional<std::string> missing_family(const Spec& spec, Precision precision);

// The first `limit` candidates of a search space when its families take turns, each giving its
// best predicted next: a short sweep still tries every family. 0 keeps them all.
std::vector<Candidate> best_predicted(std::vector<Candidate> space, std::size_t limit);

// What to run when `spec` was never tuned at `precision`. Throws fusetune::Error
// (invalid_argument) with the reason when no family can run it (a 16-bit odd K).
Candidate default_candidate(const Spec& spec, const DeviceLimits& limits, Precision precision);

// The candidate a procedural name describes; throws fusetune::Error(invalid_argument) saying
// why when the name does not parse or the configuration cannot run `spec` on `limits`.
Candidate candidate_from_name(const Spec& spec, const DeviceLimits& limits, std::string_view name);

KernelSource generate(const Spec& spec, const KernelConfig& config);

std::string config_json(const KernelConfig& config);
// Reads stored JSON (a JSON object of at most 4 KiB, nested two deep: a family's tunables).
// Throws fusetune::Error(invalid_argument), naming the tunable at fault ("gemm_simt.bk") where one
// is, for JSON that does not describe a configuration: a key missing, a value of the wrong type
// or out of the range its table gives. It does not ask whether the configuration can run a spec.
KernelConfig config_from_json(std::string_view json);

// A configuration stored for `spec` (by a tuning database, or in a file from elsewhere), checked as
// a generated one is before anything uses it: read as config_from_json reads it, then the
// family's rules for `spec` on `limits` (those candidate_from_name applies to a name). Returns it
// with its procedural name. Throws fusetune::Error(invalid_argument) naming the spec and what is
// wrong (the tunable, or the rule the configuration breaks); never crashes, whatever `json` holds.
Candidate validated_config(const Spec& spec, const DeviceLimits& limits, std::string_view json);

// What a configuration sets, one "family.key=value" per tunable (gemm_simt.warps_m=2).
std::vector<std::string> tunable_settings(const KernelConfig& config);

// The block tile (rows, columns) of configurations of the GEMM families whose tiles a tuned
// configuration keeps at another shape; nullopt for the others.
std::optional<std::array<int, 2>> block_tile(const KernelConfig& config);

}  // namespace fusetune
