// The public API (include/fusetune/fusetune.h): Library and Kernel.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iostream>
#include <mutex>
#include <unordered_map>

#include "cache/database.h"
#include "cache/layers.h"
#include "fusetune/fusetune.h"
#include "generator/generator.h"
#include "generator/precision_policy.h"
#include "generator/spec_parser.h"
#include "runtime/binary_store.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/loaded_kernel.h"
#include "runtime/served_config.h"
#include "runtime/tuning_key.h"

namespace fusetune {

namespace {

// Options::tolerance as the precision policy takes it: 0 means the precision's default.
std::optional<double> tolerance_of(const Options& options) {
  return options.tolerance != 0 ? std::optional<double>(options.tolerance) : std::nullopt;
}

class LoadedSpecKernel final : public Kernel {
 public:
  // `kernel` may be shared: a bucket's module serves every row count of its range.
  LoadedSpecKernel(const Spec& spec, std::string config, bool tuned,
                   std::shared_ptr<const LoadedKernel> kernel)
      : spec_(spec.canonical()),
        config_(std::move(config)),
        tuned_(tuned),
        output_shape_(spec.output_shape()),
        output_dtype_(to_string(spec.main.output_dtype())),
        rows_(static_cast<int>(spec.main.launch_rows())),
        kernel_(std::move(kernel)) {
    for (const TensorArg& t : spec.tensors())
      tensors_.push_back({t.name, t.shape, std::string(to_string(t.dtype)), t.updated});
    for (const ScalarArg& s : spec.scalars()) {
      scalar_names_.push_back(s.name);
      default_scalars_.push_back(static_cast<float>(s.value));
    }
  }

  const std::string& spec() const override { return spec_; }
  const std::string& config() const override { return config_; }
  bool tuned() const override { return tuned_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const std::vector<std::int64_t>& output_shape() const override { return output_shape_; }
  const std::string& output_dtype() const override { return output_dtype_; }
  const std::vector<std::string>& scalar_names() const override { return scalar_names_; }

  Status launch(cudaStream_t stream, const Arguments& arguments) const override {
    if (Status status = check(arguments); !status.ok()) return status;
    LaunchArgs args;
    for (std::size_t i = 0; i < arguments.tensors.size(); ++i)
      args.tensors[i] = static_cast<const float*>(arguments.tensors[i]);
    args.out = static_cast<float*>(arguments.out);
    const std::vector<float>& scalars =
        arguments.scalars.empty() ? default_scalars_ : arguments.scalars;
    for (std::size_t i = 0; i < scalars.size(); ++i) args.scalars[i] = scalars[i];
    args.rows = rows_;
    if (const cudaError_t error = kernel_->launch(stream, args); error != cudaSuccess)
      return Status(StatusCode::cuda_error,
                    fmt::format("launching {} failed: {}{}", config_, cudaGetErrorString(error),
                                error == cudaErrorMisalignedAddress
                                    ? " (its operands are read by TMA: pass 16-byte aligned "
                                      "tensors, as every fresh CUDA allocation is)"
                                    : ""));
    return {};
  }

 private:
  Status check(const Arguments& arguments) const {
    auto invalid = [](std::string message) {
      return Status(StatusCode::invalid_argument, std::move(message));
    };
    if (arguments.tensors.size() != tensors_.size()) {
      std::string names;
      for (const TensorInfo& t : tensors_) names += (names.empty() ? "" : ", ") + t.name;
      return invalid(fmt::format("{} takes {} tensors ({}), got {}", spec_, tensors_.size(), names,
                                 arguments.tensors.size()));
    }
    if (!arguments.scalars.empty() && arguments.scalars.size() != scalar_names_.size())
      return invalid(fmt::format("{} takes {} scalars, got {}; pass none to use the spec's values",
                                 spec_, scalar_names_.size(), arguments.scalars.size()));
    auto misaligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 != 0; };
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      const void* p = arguments.tensors[i];
      if (!p) return invalid(fmt::format("tensor '{}' is a null pointer", tensors_[i].name));
      if (misaligned(p))
        return invalid(
            fmt::format("tensor '{}' at {} is not 16-byte aligned, which fusetune "
                        "kernels need (tensors from cudaMalloc or PyTorch are)",
                        tensors_[i].name, p));
    }
    if (!arguments.out) return invalid("the output is a null pointer");
    if (misaligned(arguments.out))
      return invalid(fmt::format("the output at {} is not 16-byte aligned",
                                 static_cast<const void*>(arguments.out)));
    return {};
  }

  std::string spec_;
  std::string config_;
  bool tuned_;
  std::vector<TensorInfo> tensors_;
  std::vector<std::int64_t> output_shape_;
  std::string output_dtype_;
  std::vector<std::string> scalar_names_;
  std::vector<float> default_scalars_;
  int rows_;  // LaunchArgs::rows
  std::shared_ptr<const LoadedKernel> kernel_;
};

class DatabaseLibrary final : public Library {
 public:
  DatabaseLibrary(const Options& options, DeviceInfo device, cache::Layers layers)
      : options_(options), device_(std::move(device)), layers_(std::move(layers)) {}

  Result<std::shared_ptr<const Kernel>> load(std::string_view text) override {
    std::vector<std::string> warnings;
    Result<std::shared_ptr<const Kernel>> result = [&] {
      std::lock_guard lock(mutex_);
      Result<std::shared_ptr<const Kernel>> loaded = load_locked(text);
      warnings.swap(pending_warnings_);
      return loaded;
    }();
    // Outside the lock: a callback that loads from this library must not deadlock.
    for (const std::string& message : warnings) emit(message);
    return result;
  }

 private:
  Result<std::shared_ptr<const Kernel>> load_locked(std::string_view text) {
    if (const auto it = loaded_.find(std::string(text)); it != loaded_.end()) return it->second;
    try {
      const Spec spec = parse_spec(text);
      if (spec.main.is_row_range())
        return Status(StatusCode::invalid_argument,
                      fmt::format("'{}' is a bucket of row counts, which `fusetune tune` tunes; "
                                  "load the shape of a call (m={}, say), which the bucket's "
                                  "kernel serves without compiling",
                                  spec.canonical(), spec.main.m_min));
      std::shared_ptr<const Kernel> kernel = load_uncached(spec);
      loaded_.emplace(std::string(text), kernel);
      return kernel;
    } catch (const Error& e) {
      return e.status();
    } catch (const std::exception& e) {
      return Status(StatusCode::internal, e.what());
    }
  }

  std::shared_ptr<const Kernel> load_uncached(const Spec& spec) {
    check_cuda(cudaSetDevice(device_.ordinal), "selecting the CUDA device");
    const PrecisionPolicy policy =
        make_precision_policy(options_.precision, tolerance_of(options_), spec.main);
    ServedConfig served = served_config(spec, policy, device_, layers_);
    for (std::string& message : served.warnings) warn(std::move(message));
    const cache::TuningRecord* tuning = served.tuning ? &served.tuning->record : nullptr;
    const bool tuned = tuning != nullptr;
    // A bucket's kernel is generated for the bucket (the source its cubin was stored under) and
    // launched with the spec's rows.
    const KernelSource source =
        generate(served.bucket ? *served.bucket : spec, served.candidate.config);
    const std::string binary_id = binary_key(source, device_.arch());
    if (const auto it = modules_.find(binary_id); it != modules_.end())
      if (std::shared_ptr<const LoadedKernel> module = it->second.lock())
        return std::make_shared<LoadedSpecKernel>(spec, source.name, tuned, std::move(module));
    std::optional<CompiledBinary> binary = find_binary(layers_, binary_id);
    if (!binary) {
      binary = compile_to_cubin(source.code, source.name, target_arch(source, device_.arch()));
      store_binary(layers_.user(), binary_id, *binary);  // never the system layer
      // A user tuning's cubin is expected beside it, unless it was imported (imports bring none
      // unless trusted); a system tuning's untrusted cubin is compiled here by design.
      if (tuned && served.tuning->layer == cache::Layer::user)
        warn(
            fmt::format("the cubin of {} was not in {} (deleted, or imported without it); "
                        "compiled it from source and stored it there",
                        source.name, layers_.user().path()));
    }
    if (!tuned) note_miss(spec, policy, source.name, served.neighbour);
    // Either layer's: `fusetune tune` re-verifies a shipped tuning in the user's database.
    if (tuned) {
      const std::vector<std::string> changes =
          cache::soft_key_changes(tuning->soft_keys, device_.soft_keys);
      if (!changes.empty())
        note_soft_key_changes(served.bucket ? *served.bucket : spec, policy, *tuning, changes);
    }
    auto module = std::make_shared<const LoadedKernel>(binary->cubin, source.name, source.launch,
                                                       source.finishing);
    if (served.bucket) modules_[binary_id] = module;
    return std::make_shared<LoadedSpecKernel>(spec, source.name, tuned, std::move(module));
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

  void emit(const std::string& message) const {
    if (options_.on_warning)
      options_.on_warning(message);
    else
      std::cerr << "fusetune: warning: " << message << '\n';
  }

  Options options_;
  DeviceInfo device_;
  cache::Layers layers_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Kernel>> loaded_;
  // Buckets' modules by binary key, while some loaded kernel holds one: every row count of a
  // bucket launches the same module.
  std::unordered_map<std::string, std::weak_ptr<const LoadedKernel>> modules_;
  std::vector<std::string> pending_warnings_;  // by the load in progress, under mutex_
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
    std::unique_ptr<Library> library = std::make_unique<DatabaseLibrary>(
        options, require_device(options.device), std::move(layers));
    return library;
  } catch (const Error& e) {
    return e.status();
  } catch (const std::exception& e) {
    return Status(StatusCode::internal, e.what());
  }
}

}  // namespace fusetune
