// The public API (include/fusetune/fusetune.h): Library and Kernel.
#include <fmt/format.h>

#include <iostream>
#include <mutex>
#include <unordered_map>

#include "cache/database.h"
#include "fusetune/fusetune.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "runtime/binary_store.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/loaded_kernel.h"
#include "runtime/tuning_key.h"

namespace fusetune {

namespace {

class LoadedSpecKernel final : public Kernel {
 public:
  LoadedSpecKernel(const Spec& spec, std::string config, bool tuned, LoadedKernel kernel)
      : spec_(spec.canonical()),
        config_(std::move(config)),
        tuned_(tuned),
        output_shape_(spec.output_shape()),
        kernel_(std::move(kernel)) {
    for (const TensorArg& t : spec.tensors()) tensors_.push_back({t.name, t.shape});
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
  const std::vector<std::string>& scalar_names() const override { return scalar_names_; }

  Status launch(cudaStream_t stream, const Arguments& arguments) const override {
    if (Status status = check(arguments); !status.ok()) return status;
    LaunchArgs args;
    for (std::size_t i = 0; i < arguments.tensors.size(); ++i)
      args.tensors[i] = arguments.tensors[i];
    args.out = arguments.out;
    const std::vector<float>& scalars =
        arguments.scalars.empty() ? default_scalars_ : arguments.scalars;
    for (std::size_t i = 0; i < scalars.size(); ++i) args.scalars[i] = scalars[i];
    if (const cudaError_t error = kernel_.launch(stream, args); error != cudaSuccess)
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
  std::vector<std::string> scalar_names_;
  std::vector<float> default_scalars_;
  LoadedKernel kernel_;
};

class DatabaseLibrary final : public Library {
 public:
  DatabaseLibrary(const Options& options, Precision precision, DeviceInfo device,
                  std::unique_ptr<cache::Database> db)
      : options_(options), precision_(precision), device_(std::move(device)), db_(std::move(db)) {}

  Result<std::shared_ptr<const Kernel>> load(std::string_view text) override {
    std::lock_guard lock(mutex_);
    if (const auto it = loaded_.find(std::string(text)); it != loaded_.end()) return it->second;
    try {
      std::shared_ptr<const Kernel> kernel = load_uncached(parse_spec(text));
      loaded_.emplace(std::string(text), kernel);
      return kernel;
    } catch (const Error& e) {
      return e.status();
    } catch (const std::exception& e) {
      return Status(StatusCode::internal, e.what());
    }
  }

 private:
  std::shared_ptr<const Kernel> load_uncached(const Spec& spec) {
    check_cuda(cudaSetDevice(device_.ordinal), "selecting the CUDA device");
    const cache::TuningKey key = tuning_key(spec, std::string(to_string(precision_)), device_.name,
                                            device_.arch(), device_.sm_count);
    const std::optional<cache::TuningRecord> tuning = db_->find_tuning(key);
    const bool tuned = tuning && !tuning->winner.empty();
    const Candidate candidate =
        tuned ? Candidate{config_from_json(tuning->winner_config_json), tuning->winner}
              : default_candidate(spec, device_.limits, precision_);
    const KernelSource source = generate(spec, candidate.config);
    const std::string binary_id = binary_key(source, device_.arch());
    std::optional<CompiledBinary> binary = find_binary(*db_, binary_id);
    if (!binary) {
      binary = compile_to_cubin(source.code, source.name, target_arch(source, device_.arch()));
      store_binary(*db_, binary_id, *binary);
      if (tuned)
        warn(fmt::format("the cubin of {} was missing from {}; compiled it again", source.name,
                         db_->path()));
    }
    if (!tuned)
      warn(
          fmt::format("'{}' was never tuned on {}; using the default configuration {}. Run "
                      "`fusetune tune \"{}\"` to tune it.",
                      spec.canonical(), device_.description(), source.name, spec.canonical()));
    return std::make_shared<LoadedSpecKernel>(
        spec, source.name, tuned, LoadedKernel(binary->cubin, source.name, source.launch));
  }

  void warn(const std::string& message) const {
    if (options_.on_warning)
      options_.on_warning(message);
    else
      std::cerr << "fusetune: warning: " << message << '\n';
  }

  Options options_;
  Precision precision_;
  DeviceInfo device_;
  std::unique_ptr<cache::Database> db_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Kernel>> loaded_;
};

}  // namespace

Result<std::unique_ptr<Library>> Library::open(const Options& options) {
  try {
    const std::optional<Precision> precision = precision_from_string(options.precision);
    if (!precision)
      return Status(
          StatusCode::invalid_argument,
          fmt::format("precision '{}' is not one of fp32, tf32, 3xtf32", options.precision));
    const std::string path =
        options.database_path.empty() ? cache::Database::default_path() : options.database_path;
    std::unique_ptr<cache::Database> db = cache::Database::open(path);
    std::unique_ptr<Library> library = std::make_unique<DatabaseLibrary>(
        options, *precision, require_device(options.device), std::move(db));
    return library;
  } catch (const Error& e) {
    return e.status();
  } catch (const std::exception& e) {
    return Status(StatusCode::internal, e.what());
  }
}

}  // namespace fusetune
