// The exported functions of include/fusetune/fusetune_c.h. Each checks its arguments and runs its
// body through guarded(), so that no exception leaves the library.
#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "capi/handles.h"
#include "capi/last_error.h"
#include "capi/library_tune.h"
#include "capi/spec_json.h"
#include "fusetune/fusetune_c.h"
#include "generator/spec_parser.h"
#include "generator/version.h"
#include "runtime/cuda_check.h"

namespace {

using fusetune::capi::guarded;
using fusetune::capi::require_argument;

// A copy of `text` that the caller frees with fusetune_free().
char* caller_owned(const std::string& text) {
  char* copy = static_cast<char*>(std::malloc(text.size() + 1));
  if (copy == nullptr) throw std::bad_alloc();
  std::memcpy(copy, text.c_str(), text.size() + 1);
  return copy;
}

// An output argument is cleared first, so that a failed call leaves NULL in it.
template <class T>
void clear_output(T** output) {
  if (output != nullptr) *output = nullptr;
}

// A kernel handle for what `load` (one of the library's load functions) returns for `spec`,
// after the arguments' checks every load makes.
template <class Load>
fusetune_status load_handle(fusetune_library* library, const char* spec, fusetune_kernel** kernel,
                            const Load& load) {
  clear_output(kernel);
  return guarded([&] {
    require_argument(library, "library");
    require_argument(spec, "spec");
    require_argument(kernel, "kernel");
    fusetune::Result<std::shared_ptr<const fusetune::Kernel>> loaded = load();
    fusetune::capi::throw_unless_ok(loaded.status());
    *kernel = new fusetune_kernel{std::move(loaded.value()), library->device()};
  });
}

}  // namespace

extern "C" {

int fusetune_abi_version(void) { return FUSETUNE_C_ABI_VERSION; }

const char* fusetune_version(void) {
  static const std::string version(fusetune::fusetune_version());
  return version.c_str();
}

const char* fusetune_status_name(fusetune_status status) {
  return fusetune::to_string(static_cast<fusetune::StatusCode>(status));
}

const char* fusetune_last_error(void) { return fusetune::capi::last_error(); }

void fusetune_free(char* text) { std::free(text); }

fusetune_status fusetune_describe(const char* spec, char** json) {
  clear_output(json);
  return guarded([&] {
    require_argument(spec, "spec");
    require_argument(json, "json");
    *json = caller_owned(fusetune::capi::describe_spec(fusetune::parse_spec(spec)).dump());
  });
}

fusetune_status fusetune_library_open(const char* database_path, int device,
                                      fusetune_message_fn on_warning, void* user,
                                      fusetune_library** library) {
  return fusetune_library_open_with_flags(database_path, device, 0, on_warning, user, library);
}

fusetune_status fusetune_library_open_with_flags(const char* database_path, int device,
                                                 unsigned flags, fusetune_message_fn on_warning,
                                                 void* user, fusetune_library** library) {
  clear_output(library);
  return guarded([&] {
    require_argument(library, "library");
    constexpr unsigned kKnownFlags = FUSETUNE_OPEN_NO_COMPILE;
    if ((flags & ~kKnownFlags) != 0)
      throw fusetune::Error(
          fusetune::StatusCode::invalid_argument,
          fmt::format("flags holds bits this library does not know ({:#x}): pass 0 or "
                      "FUSETUNE_OPEN_* values of its fusetune_c.h",
                      flags & ~kKnownFlags));
    *library = new fusetune_library(database_path, device, (flags & FUSETUNE_OPEN_NO_COMPILE) != 0,
                                    on_warning, user);
  });
}

void fusetune_library_close(fusetune_library* library) { delete library; }

fusetune_status fusetune_library_load(fusetune_library* library, const char* spec,
                                      const char* precision, double tolerance,
                                      fusetune_kernel** kernel) {
  return load_handle(library, spec, kernel, [&] {
    return library->library_for(precision ? precision : "", tolerance)->load(spec);
  });
}

fusetune_status fusetune_library_load_backward(fusetune_library* library, const char* spec,
                                               fusetune_kernel** kernel) {
  return load_handle(library, spec, kernel,
                     [&] { return library->library_for("", 0)->load_backward(spec); });
}

fusetune_status fusetune_library_tune(fusetune_library* library, const char* spec,
                                      const char* precision, double tolerance, int force,
                                      size_t max_candidates, fusetune_progress_fn progress,
                                      void* user, char** report_json) {
  clear_output(report_json);
  return guarded([&] {
    require_argument(library, "library");
    require_argument(spec, "spec");
    const fusetune::capi::TuneRequest request{.spec = spec,
                                              .precision = precision ? precision : "",
                                              .tolerance = tolerance,
                                              .force = force != 0,
                                              .max_candidates = max_candidates,
                                              .progress = progress,
                                              .user = user};
    const std::string report = fusetune::capi::tune_in_library(*library, request).dump();
    if (report_json) *report_json = caller_owned(report);
  });
}

void fusetune_kernel_release(fusetune_kernel* kernel) { delete kernel; }

const char* fusetune_kernel_spec(const fusetune_kernel* kernel) {
  return kernel ? kernel->kernel->spec().c_str() : "";
}

const char* fusetune_kernel_config(const fusetune_kernel* kernel) {
  return kernel ? kernel->kernel->config().c_str() : "";
}

int fusetune_kernel_tuned(const fusetune_kernel* kernel) {
  return kernel && kernel->kernel->tuned() ? 1 : 0;
}

double fusetune_kernel_time_ms(const fusetune_kernel* kernel) {
  return kernel ? kernel->kernel->tuned_time_ms() : 0.0;
}

fusetune_status fusetune_kernel_prepare(const fusetune_kernel* kernel, void* stream) {
  return guarded([&] {
    require_argument(kernel, "kernel");
    fusetune::check_cuda(cudaSetDevice(kernel->device), "selecting the library's CUDA device");
    fusetune::capi::throw_unless_ok(kernel->kernel->prepare(static_cast<cudaStream_t>(stream)));
  });
}

fusetune_status fusetune_kernel_launch(const fusetune_kernel* kernel, void* stream,
                                       const void* const* tensors, size_t tensor_count, void* out,
                                       const float* scalars, size_t scalar_count) {
  return fusetune_kernel_launch_unchanged(kernel, stream, tensors, tensor_count, out, scalars,
                                          scalar_count, nullptr, 0);
}

fusetune_status fusetune_kernel_launch_unchanged(const fusetune_kernel* kernel, void* stream,
                                                 const void* const* tensors, size_t tensor_count,
                                                 void* out, const float* scalars,
                                                 size_t scalar_count, const size_t* unchanged,
                                                 size_t unchanged_count) {
  return guarded([&] {
    require_argument(kernel, "kernel");
    if (tensor_count > 0) require_argument(tensors, "tensors");
    if (scalar_count > 0) require_argument(scalars, "scalars");
    if (unchanged_count > 0) require_argument(unchanged, "unchanged");
    fusetune::check_cuda(cudaSetDevice(kernel->device), "selecting the library's CUDA device");
    fusetune::Arguments arguments;
    arguments.tensors.assign(tensors, tensors + tensor_count);
    arguments.out = out;
    arguments.scalars.assign(scalars, scalars + scalar_count);
    arguments.unchanged.assign(unchanged, unchanged + unchanged_count);
    fusetune::capi::throw_unless_ok(
        kernel->kernel->launch(static_cast<cudaStream_t>(stream), arguments));
  });
}

}  // extern "C"
