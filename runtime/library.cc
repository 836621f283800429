// The public API (include/fusetune/fusetune.h): Library, which chooses, finds or compiles, and
// loads the kernel of a spec (Kernel is runtime/spec_kernel.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <mutex>
#include <unordered_map>

#include "cache/database.h"
#include "cache/layers.h"
#include "fusetune/fusetune.h"
#include "generator/chain_backward.h"
#include "generator/chain_derivative.h"
#include "generator/generator.h"
#include "generator/precision_policy.h"
#include "generator/spec_parser.h"
#include "runtime/binary_store.h"
#include "runtime/compile_refusal.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/load_report.h"
#include "runtime/loaded_kernel.h"
#include "runtime/served_config.h"
#include "runtime/spec_kernel.h"
#include "runtime/tuning_key.h"

namespace fusetune {

namespace {

// Options::tolerance as the precision policy takes it: 0 means the precision's default.
std::optional<double> tolerance_of(const Options& options) {
  return options.tolerance != 0 ? std::optional<double>(options.tolerance) : std::nullopt;
}

// Passes `message` to the warning callback of `options`, else to standard error.
void warn_now(const Options& options, const std::string& message) {
  if (options.on_warning)
    options.on_warning(message);
  else
    std::cerr << "fusetune: warning: " << message << '\n';
}

// Where a load's kernel came from.
enum class CubinFrom { database, compiled, module };

// A cubin for a load, and where it came from (a bucket's module already loaded has no cubin here,
// only its registers).
struct Cubin {
  CompiledBinary binary;
  CubinFrom from = CubinFrom::database;
};

class DatabaseLibrary final : public Library {
 public:
  DatabaseLibrary(const Options& options, DeviceInfo device, cache::Layers layers,
                  LogLevel log_level)
      : options_(options),
        device_(std::move(device)),
        layers_(std::move(layers)),
        log_level_(log_level) {}

  Result<std::shared_ptr<const Kernel>> load(std::string_view text) override {
    std::vector<std::string> warnings;
    std::string report;
    Result<std::shared_ptr<const Kernel>> result = [&] {
      std::lock_guard lock(mutex_);
      Result<std::shared_ptr<const Kernel>> loaded = load_locked(text);
      warnings.swap(pending_warnings_);
      report.swap(pending_report_);
      return loaded;
    }();
    // Outside the lock: a callback that loads from this library must not deadlock.
    for (const std::string& message : warnings) emit(message);
    if (!report.empty()) std::cerr << report << std::flush;
    return result;
  }

  Result<std::shared_ptr<const Kernel>> load_backward(std::string_view text) override {
    std::lock_guard lock(mutex_);
    const std::string key = "backward of " + std::string(text);
    if (const auto it = loaded_.find(key); it != loaded_.end()) return it->second;
    try {
      const Spec spec = parse_spec(text);
      const KernelSource source = emit_chain_derivative(spec);
      check_cuda(cudaSetDevice(device_.ordinal), "selecting the CUDA device");
      const std::string binary_id = binary_key(source, device_.arch());
      std::optional<CompiledBinary> binary = find_binary(layers_, binary_id);
      if (!binary) {
        if (options_.no_compile)
          throw Error(StatusCode::not_found,
                      fmt::format("the backward of {} ({}) has no cubin in {} and production "
                                  "mode forbids compiling it; load it once without no_compile "
                                  "(FUSETUNE_NO_COMPILE unset) to store it",
                                  spec.canonical(), source.name, layers_.user().path()));
        binary = compile_to_cubin(source.code, source.name, target_arch(source, device_.arch()));
        store_binary(layers_.user(), binary_id, *binary);
      }
      auto module = std::make_shared<const LoadedKernel>(binary->cubin, source.name, source.launch,
                                                         source.finishing);
      const KernelInterface interface {
        .spec = key, .tensors = chain_derivative_tensors(spec),
        .output_shape = {spec.main.m, spec.main.n}, .output_dtype = spec.main.dtype,
        .scalars = spec.scalars(), .rows = static_cast<int>(spec.main.m)
      };
      std::shared_ptr<const Kernel> kernel =
          std::make_shared<SpecKernel>(interface, source.name, std::nullopt, std::move(module));
      loaded_.emplace(key, kernel);
      return kernel;
    } catch (const Error& e) {
      return e.status();
    } catch (const std::exception& e) {
      return Status(StatusCode::internal, e.what());
    }
  }

 private:
  // What a kernel served by `tuning` reports of it: the winner's time (0 where the record has
  // none), or nullopt for an untuned spec.
  static std::optional<double> tuned_time(const cache::TuningRecord* tuning) {
    if (tuning == nullptr) return std::nullopt;
    return tuning->winner_time_ms.value_or(0.0);
  }

  struct Loaded {
    std::shared_ptr<const Kernel> kernel;
    LoadReport report;
  };

  Result<std::shared_ptr<const Kernel>> load_locked(std::string_view text) {
    if (const auto it = loaded_.find(std::string(text)); it != loaded_.end()) return it->second;
    try {
      const auto start = std::chrono::steady_clock::now();
      const Spec spec = parse_spec(text);
      if (spec.main.is_row_range())
        return Status(StatusCode::invalid_argument,
                      fmt::format("'{}' is a bucket of row counts, which `fusetune tune` tunes; "
                                  "load the shape of a call (m={}, say), which the bucket's "
                                  "kernel serves without compiling",
                                  spec.canonical(), spec.main.m_min));
      Loaded loaded = load_uncached(spec);
      loaded.report.load_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      pending_report_ = load_report_text(loaded.report, log_level_);
      loaded_.emplace(std::string(text), loaded.kernel);
      return loaded.kernel;
    } catch (const Error& e) {
      return e.status();
    } catch (const std::exception& e) {
      return Status(StatusCode::internal, e.what());
    }
  }

  Loaded load_uncached(const Spec& spec) {
    check_cuda(cudaSetDevice(device_.ordinal), "selecting the CUDA device");
    const PrecisionPolicy policy =
        make_precision_policy(options_.precision, tolerance_of(options_), spec.main);
    ServedConfig served = served_config(spec, policy, device_, layers_);
    for (std::string& message : served.warnings) warn(std::move(message));
    const cache::TuningRecord* tuning = served.tuning ? &served.tuning->record : nullptr;
    // A bucket's kernel is generated for the bucket (the source its cubin was stored under) and
    // launched with the spec's rows.
    const KernelSource source =
        generate(served.bucket ? *served.bucket : spec, served.candidate.config);
    const std::string binary_id = binary_key(source, device_.arch());
    if (const auto it = modules_.find(binary_id); it != modules_.end())
      if (std::shared_ptr<const LoadedKernel> module = it->second.lock()) {
        Cubin loaded;
        loaded.binary.registers = module->registers();
        loaded.from = CubinFrom::module;
        return {std::make_shared<SpecKernel>(spec, source.name, tuned_time(tuning), module),
                report_of(spec, policy, served, source, loaded)};
      }
    const Cubin cubin = cubin_for(spec, policy, served, source, binary_id);
    if (!tuning) note_miss(spec, policy, source.name, served.neighbour);
    // Either layer's: `fusetune tune` re-verifies a shipped tuning in the user's database.
    if (tuning) {
      const std::vector<std::string> changes =
          cache::soft_key_changes(tuning->soft_keys, device_.soft_keys);
      if (!changes.empty())
        note_soft_key_changes(served.bucket ? *served.bucket : spec, policy, *tuning, changes);
    }
    auto module = std::make_shared<const LoadedKernel>(cubin.binary.cubin, source.name,
                                                       source.launch, source.finishing);
    if (served.bucket) modules_[binary_id] = module;
    return {std::make_shared<SpecKernel>(spec, source.name, tuned_time(tuning), std::move(module)),
            report_of(spec, policy, served, source, cubin)};
  }

  // The stored cubin of `source` (under `binary_id`), else one compiled now and stored in the
  // user's database; under Options::no_compile, a not_found error in place of the compile (the
  // miss still noted).
  Cubin cubin_for(const Spec& spec, const PrecisionPolicy& policy, const ServedConfig& served,
                  const KernelSource& source, const std::string& binary_id) {
    if (std::optional<CompiledBinary> found = find_binary(layers_, binary_id))
      return {std::move(*found), CubinFrom::database};
    const bool tuned = served.tuning.has_value();
    if (options_.no_compile) {
      if (!tuned) record_miss(spec, policy, source.name);
      // A bucket's tuning is the one to name: its winner's cubin serves the spec.
      const Spec& tuned_spec = served.bucket ? *served.bucket : spec;
      throw Error(
          StatusCode::not_found,
          compile_refusal({.spec = tuned ? tuned_spec.canonical() : spec.canonical(),
                           .precision = tuned ? served.tuning->record.key.precision : policy.name(),
                           .device = device_.description(),
                           .arch = device_.arch(),
                           .kernel = source.name,
                           .tuned = tuned,
                           .neighbour = served.neighbour,
                           .database = layers_.user().path()}));
    }
    Cubin cubin{compile_to_cubin(source.code, source.name, target_arch(source, device_.arch())),
                CubinFrom::compiled};
    store_binary(layers_.user(), binary_id, cubin.binary);  // never the system layer
    // A user tuning's cubin is expected beside it, unless it was imported (imports bring none
    // unless trusted); a system tuning's untrusted cubin is compiled here by design.
    if (tuned && served.tuning->layer == cache::Layer::user)
      warn(fmt::format(
          "the cubin of {} was not in {} (deleted, or imported without it); compiled it from "
          "source and stored it there",
          source.name, layers_.user().path()));
    return cubin;
  }

  const cache::Database& database_of(cache::Layer layer) {
    return layer == cache::Layer::user ? layers_.user() : *layers_.system();
  }

  // What FUSETUNE_LOG says of this load (load_ms is the caller's to fill).
  LoadReport report_of(const Spec& spec, const PrecisionPolicy& policy, const ServedConfig& served,
                       const KernelSource& source, const Cubin& cubin) {
    LoadReport r{.spec = spec.canonical(),
                 .kernel = source.name,
                 .precision = std::string(to_string(precision_of(served.candidate.config))),
                 .device = device_.description()};
    if (served.tuning) {
      r.served_as = ServedAs::tuned;
      r.database = database_of(served.tuning->layer).path();
      r.tuned_ms = served.tuning->record.winner_time_ms;
      r.tuned_rel_err = served.tuning->record.winner_rel_err;
    } else if (!served.neighbour.empty()) {
      r.served_as = ServedAs::borrowed;
      r.database = database_of(served.neighbour_layer).path();
      r.neighbour = served.neighbour;
    }
    if (!options_.precision.empty())
      r.requested =
          policy.is_auto() ? fmt::format("auto (tolerance {:g})", policy.tolerance) : policy.name();
    if (cubin.from == CubinFrom::compiled) {
      r.compile_ms = cubin.binary.compile_ms;
      r.stored_in = layers_.user().path();
    }
    r.module_reused = cubin.from == CubinFrom::module;
    if (served.bucket) r.bucket = served.bucket->canonical();
    r.registers = cubin.binary.registers;
    r.spill_bytes = cubin.binary.spill_bytes;
    r.shared_bytes =
        cubin.binary.static_smem_bytes + static_cast<int>(source.launch.dynamic_smem_bytes);
    const LaunchGeometry& g = source.launch;
    r.launch = fmt::format("grid {}, block {}", fmt::join(g.grid, "x"), fmt::join(g.block, "x"));
    if (const std::size_t steps = source.finishing.steps.size() + source.finishing.preparing.size();
        steps > 0)
      r.launch += fmt::format(", a plan of {} kernels", steps + 1);
    return r;
  }

  // Notes `spec` in the user database for `fusetune tune --misses`, `served` in its place.
  void record_miss(const Spec& spec, const PrecisionPolicy& policy, const std::string& served) {
    try {
      layers_.user().record_miss(
          tuning_key(spec, policy.name(), device_.name, device_.arch(), device_.sm_count),
          spec.canonical(), served);
    } catch (const Error& e) {  // a busy or read-only database must not fail the load
      warn(fmt::format("could not note {} in {}: {}", spec.canonical(), layers_.user().path(),
                       e.what()));
    }
  }

  // Records the load of an untuned spec for `fusetune tune --misses`, and warns.
  void note_miss(const Spec& spec, const PrecisionPolicy& policy, const std::string& config,
                 const std::string& neighbour) {
    record_miss(spec, policy, config);
    const std::string served =
        neighbour.empty()
            ? fmt::format("the default configuration {}", config)
            : fmt::format("{}, the winner of the nearest tuned shape '{}'", config, neighbour);
    warn(fmt::format(
        "'{}' was never tuned on {} at precision {}{}; using {}. Run `fusetune tune \"{}\" "
        "--precision {}` (or `fusetune tune --misses`) to tune it.",
        spec.canonical(), device_.description(), policy.name(),
        policy.is_auto() ? fmt::format(" (tolerance {:g})", policy.tolerance) : "", served,
        spec.canonical(), policy.name()));
  }

  // A tuning whose soft keys changed still serves its winner (its code is right for this GPU),
  // but its times may no longer rank it first: noted like a miss, so that `fusetune tune
  // --misses` re-verifies the winner and runner-up.
  void note_soft_key_changes(const Spec& spec, const PrecisionPolicy& policy,
                             const cache::TuningRecord& tuning,
                             const std::vector<std::string>& changes) {
    record_miss(spec, policy, tuning.winner);
    warn(fmt::format(
        "'{}' was tuned at precision {} under other soft keys ({}); using its winner {}. Run "
        "`fusetune tune \"{}\" --precision {}` (or `fusetune tune --misses`) to re-verify the "
        "winner and runner-up, which takes seconds, not a new sweep.",
        spec.canonical(), tuning.key.precision, fmt::join(changes, ", "), tuning.winner,
        spec.canonical(), policy.name()));
  }

  // Kept until load releases its lock (mutex_ is held).
  void warn(std::string message) { pending_warnings_.push_back(std::move(message)); }

  void emit(const std::string& message) const { warn_now(options_, message); }

  Options options_;
  DeviceInfo device_;
  cache::Layers layers_;
  LogLevel log_level_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Kernel>> loaded_;
  // Buckets' modules by binary key, while some loaded kernel holds one: every row count of a
  // bucket launches the same module.
  std::unordered_map<std::string, std::weak_ptr<const LoadedKernel>> modules_;
  std::vector<std::string> pending_warnings_;  // by the load in progress, under mutex_
  std::string pending_report_;                 // likewise: its FUSETUNE_LOG text
};

}  // namespace

Result<std::unique_ptr<Library>> Library::open(const Options& options) {
  try {
    check_precision_request(options.precision, tolerance_of(options));
    const std::string path =
        options.database_path.empty() ? cache::Database::default_path() : options.database_path;
    // The system layer first: a bad one must not leave a new user database behind.
    std::unique_ptr<cache::Database> system = cache::Layers::open_system(
        options.system_database_path.empty() ? cache::Layers::default_system_path()
                                             : options.system_database_path);
    cache::Layers layers(
        cache::Database::open(path), std::move(system),
        options.trust_system_binaries || cache::Layers::default_trust_system_binaries());
    Options settled = options;
    settled.no_compile = options.no_compile || no_compile_from_environment();
    const LogSetting log = log_setting_from_environment();
    if (!log.problem.empty()) warn_now(options, log.problem);
    std::unique_ptr<Library> library = std::make_unique<DatabaseLibrary>(
        settled, require_device(options.device), std::move(layers), log.level);
    return library;
  } catch (const Error& e) {
    return e.status();
  } catch (const std::exception& e) {
    return Status(StatusCode::internal, e.what());
  }
}

}  // namespace fusetune
