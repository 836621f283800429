// fusetune: fused CUDA kernels (a main op followed by a chain of elementwise ops, pools,
// reductions and normalizations), tuned per shape and GPU and loaded by the spec that names them.
//
//   auto library = fusetune::Library::open();  // the default tuning database
//   if (!library.ok()) { report(library.status().message()); return; }
//   auto kernel = library.value()->load(
//       "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)");
//   if (!kernel.ok()) { report(kernel.status().message()); return; }
//   fusetune::Status launched = kernel.value()->launch(stream, {.tensors = {x, weight, bias}, .out
//   = y});
//
// Tune a spec first with `fusetune tune SPEC`; a spec never tuned still loads, with a warning,
// using a default configuration compiled on the spot (unless Options::no_compile forbids it).
// $FUSETUNE_LOG=info reports on standard error which kernel each load chose and why.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fusetune/status.h"

namespace fusetune {

struct Options {
  // The tuning database. Empty: $FUSETUNE_DB if set, else
  // ${XDG_CACHE_HOME:-$HOME/.cache}/fusetune/tuning.db (created when absent).
  std::string database_path;
  // A read-only tuning database beneath database_path, e.g. results a team ships: a spec is
  // looked up in database_path first, then here; new results, cubins and misses are written to
  // database_path only, and this file is never modified. Empty: $FUSETUNE_SYSTEM_DB if set, else
  // none. A path naming no file means none; a file that is not a fusetune database fails open().
  std::string system_database_path;
  // Whether the system database's cubins are loaded as they are. false: a shared file is trusted
  // for configurations and timings only (each configuration checked as the generator checks its
  // own), and each kernel is compiled from source into database_path on its first load. true, or
  // $FUSETUNE_TRUST_SYSTEM_BINARIES=1: a team's own file, on storage only the team can write.
  bool trust_system_binaries = false;
  // The arithmetic of the kernels. On fp32 data: "fp32" (exact fp32 FFMA), "3xtf32" (tensor
  // cores, fp32-level accuracy), "int8x" (int8 tensor cores on each value's int8 digits, sm_90,
  // fp32-level accuracy) or "tf32" (tensor cores on TF32-rounded operands, relative error near
  // 3e-4); on a spec's dtype=bf16 or fp16 data: "bf16" or "fp16". Empty: the one
  // native to each spec's inputs (fp32, bf16 or fp16). Results are tuned and stored per
  // precision. "auto" loads, of the precisions tuned for a spec, the fastest winner whose
  // measured error is within `tolerance`.
  std::string precision;
  // For "auto": the largest relative error against fp64 a kernel may have, below 1 (open
  // refuses 1 or more, which would pass an output of zeros). 0: 1e-5, the accuracy of fp32
  // arithmetic (for a 16-bit output, what its rounding allows: 1e-2 bf16, 2e-3 fp16).
  double tolerance = 0;
  // The CUDA device whose tuning results are used and on which kernels are loaded.
  int device = 0;
  // Production mode, for programs that must never stall on a compile: a load that would run
  // NVRTC (a spec never tuned whose kernel has no cubin stored, a winner whose cubin is missing)
  // fails with not_found, naming the spec and how to tune it; a spec never tuned is still noted
  // for `fusetune tune --misses`. Loads from cubins in the databases are unaffected. On when
  // true, or when $FUSETUNE_NO_COMPILE=1.
  bool no_compile = false;
  // Receives warnings, e.g. that a spec was never tuned. Empty: they go to standard error.
  // Called on the loading thread once the load is done, outside the library's lock: it may
  // load from the same library.
  std::function<void(const std::string&)> on_warning;
};

// A tensor a kernel reads: its name (for messages), its contiguous row-major shape, its element
// type ("fp32", "bf16" or "fp16"), and whether the kernel also writes it, in place
// (batch_norm's running statistics in training mode).
struct TensorInfo {
  std::string name;
  std::vector<std::int64_t> shape;
  std::string dtype;
  bool updated = false;
};

// The operands of one launch: device pointers, 16-byte aligned, to data of the types
// Kernel::tensors() and Kernel::output_dtype() name.
struct Arguments {
  std::vector<const void*> tensors;  // in the order Kernel::tensors() lists them
  void* out = nullptr;               // Kernel::output_shape(), contiguous row-major
  std::vector<float> scalars;        // empty: the values written in the spec; else one per
                                     // Kernel::scalar_names(), in that order
  // Tensors (indices into Kernel::tensors()) the caller promises hold what they held at the last
  // launch of this kernel on this stream that passed the same pointer: the kernel may reuse what
  // it prepared from them then instead of preparing it again (int8x's digits of a weight, a
  // third of its time at the seed's shape). Say it only of data that does not change between
  // calls, such as an inference model's weights: a broken promise gives wrong results. Kernels
  // that prepare nothing ignore it; a stream captured into a CUDA graph prepares every time.
  std::vector<std::size_t> unchanged;
};

// A loaded kernel. Immutable; launch() may be called from any thread.
class Kernel {
 public:
  virtual ~Kernel() = default;

  virtual const std::string& spec() const = 0;    // the canonical spec
  virtual const std::string& config() const = 0;  // the configuration's procedural name
  virtual bool tuned() const = 0;                 // false: the default for an untuned spec
  // The tuned winner's median time on this GPU in milliseconds, as its tuning measured it (with
  // the L2 flushed); 0 where tuned() is false or the tuning recorded none.
  virtual double tuned_time_ms() const = 0;
  virtual const std::vector<TensorInfo>& tensors() const = 0;
  virtual const std::vector<std::int64_t>& output_shape() const = 0;
  virtual const std::string& output_dtype() const = 0;  // "fp32", "bf16" or "fp16"
  virtual const std::vector<std::string>& scalar_names() const = 0;

  // Allocates what launches on `stream` need: for a spec that reduces, the scratch memory its
  // plan's kernels share on that stream (one block, owned by the kernel, zeroed on `stream`),
  // which a first launch there would otherwise allocate; nothing for one kernel. After it,
  // launches on `stream` allocate nothing, so a CUDA graph may capture them: call it before
  // capturing, on the stream that is captured. Launching there while capturing without it fails
  // with cuda_error naming prepare. Returns cuda_error when the allocation fails. Thread safe.
  virtual Status prepare(cudaStream_t stream) const = 0;

  // Enqueues the kernel on `stream` without synchronizing: one kernel, or for a spec that
  // reduces the kernels of its plan, in order, sharing scratch memory the kernel owns (see
  // prepare: allocated at the first launch on a stream unless prepared). Returns
  // invalid_argument naming the offending operand when a count is wrong or a pointer is null or
  // misaligned, and cuda_error when CUDA refuses the launch. Errors during execution surface at
  // the next synchronization.
  virtual Status launch(cudaStream_t stream, const Arguments& arguments) const = 0;
};

// Loads tuned kernels from a tuning database. Thread safe.
class Library {
 public:
  // Opens the database named by `options` (and the system database beneath it, if any) on
  // options.device. Fails with database_error when either file cannot be used (it is then left
  // untouched) and no_device without a usable GPU.
  static Result<std::unique_ptr<Library>> open(const Options& options = {});

  virtual ~Library() = default;

  // The kernel tuned for `spec` on this GPU (in the user's database, else the system one; either
  // is tuned()): its cubin comes from the databases, so nothing is compiled. A spec never tuned
  // gets the winner of the nearest tuned shape or the default configuration, compiled now, and a
  // warning. A spec already loaded returns the same kernel at once. Fails with invalid_spec (the
  // message points at the offending character), not_found where Options::no_compile forbids the
  // compile a load needs, and compile_error or cuda_error.
  virtual Result<std::shared_ptr<const Kernel>> load(std::string_view spec) = 0;

  // For a training step, the backward of `spec`'s chain (elementwise ops with at most one max
  // or avg pool step, or one reduction or normalization of a linear or matmul's features:
  // sum, mean, amax, amin, softmax, log_softmax, logsumexp, layer_norm or rms_norm): the kernels
  // that take d loss / d output back to g' = d loss / d (the main op's result), its output, and
  // write each operand's gradient (a column, row or channel operand's summed by a further kernel of
  // the plan). Its tensors: "grad" (d loss / d output), "saved" (the main op's result, as the spec
  // with save first wrote it: `linear(...) -> save -> bias -> ...`), the spec's operands, then
  // "grad_<operand>" for each, written. The products d x = g' W and d W = g'ᵀ x are matmul specs of
  // their own (for a convolution, d x is the convolution the other way), tuned and loaded with
  // load(); fusetune_describe names them. One configuration, compiled on first use and stored with
  // the cubins. Fails with invalid_spec, invalid_argument naming what has no fused backward yet (a
  // reduction, a second pool step, ...), and as load() does.
  virtual Result<std::shared_ptr<const Kernel>> load_backward(std::string_view spec) = 0;
};

}  // namespace fusetune
