/* fusetune's C interface, exported from libfusetune.so: the tuned kernels of fusetune.h for
 * programs and languages that cannot call C++ (the Python package loads it with ctypes).
 *
 *   fusetune_library* library;
 *   if (fusetune_library_open(NULL, 0, NULL, NULL, &library) != FUSETUNE_OK)
 *     report(fusetune_last_error());
 *   fusetune_kernel* kernel;
 *   if (fusetune_library_load(library, "linear(m=1024, n=8192, k=8192) -> bias -> relu",
 *                             NULL, 0, &kernel) != FUSETUNE_OK)
 *     report(fusetune_last_error());
 *   const void* tensors[] = {x, weight, bias};
 *   fusetune_kernel_launch(kernel, stream, tensors, 3, y, NULL, 0);
 *
 * Conventions:
 * - Every call that can fail returns a fusetune_status. On failure the calling thread's
 *   fusetune_last_error() says what failed and what to do; no C++ exception crosses this
 *   interface.
 * - Strings returned through `char**` belong to the caller, who frees them with fusetune_free().
 *   Strings returned as `const char*` belong to the object they describe.
 * - Handles are thread safe: one library or kernel may be used from several threads at once.
 * - Precision names: NULL or "" (the spec's native precision: exact fp32 FFMA for fp32 data),
 *   "fp32", "3xtf32", "int8x", "tf32", "bf16", "fp16", or "auto" (the fastest tuned precision whose
 *   measured error is within the tolerance). A tolerance of 0 is the precision's default:
 *   1e-5 for auto with an fp32 output, fp32, 3xtf32 and int8x; 5e-4 for tf32. Any other is below 1
 *   (1 or more would pass an output of zeros, and is refused as an invalid argument).
 */
#ifndef FUSETUNE_FUSETUNE_C_H_
#define FUSETUNE_FUSETUNE_C_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Raised whenever a function's meaning or signature changes; bindings check it at load. */
#define FUSETUNE_C_ABI_VERSION 4

/* The codes of fusetune::StatusCode, with the same meanings and values. */
typedef enum fusetune_status {
  FUSETUNE_OK = 0,
  FUSETUNE_INVALID_SPEC = 1,     /* the spec text does not parse or names an impossible problem */
  FUSETUNE_INVALID_ARGUMENT = 2, /* a null handle, a wrong count, a misaligned pointer, ... */
  FUSETUNE_NOT_FOUND = 3,        /* nothing stored under that key */
  FUSETUNE_NO_DEVICE = 4,        /* the work needs a CUDA GPU and none is usable */
  FUSETUNE_COMPILE_ERROR = 5,    /* NVRTC rejected generated source (a fusetune bug) */
  FUSETUNE_CUDA_ERROR = 6,       /* the CUDA runtime reported an error */
  FUSETUNE_DATABASE_ERROR = 7,   /* the tuning database cannot be opened, read or written */
  FUSETUNE_INTERNAL = 8          /* anything else */
} fusetune_status;

typedef struct fusetune_library fusetune_library;
typedef struct fusetune_kernel fusetune_kernel;

/* Receives a message (a warning, e.g. that a spec was never tuned) and the caller's pointer. */
typedef void (*fusetune_message_fn)(const char* message, void* user);
/* Hears a sweep's progress: `done` of `total` candidates of the sweep at `precision`. */
typedef void (*fusetune_progress_fn)(int done, int total, const char* precision, void* user);

/* FUSETUNE_C_ABI_VERSION as this library was built. */
int fusetune_abi_version(void);
/* The library's version, "0.1.0". Static storage. */
const char* fusetune_version(void);
/* "ok", "invalid_spec", ...: the status's name ("unknown" for a value outside the enum). Static
 * storage. */
const char* fusetune_status_name(fusetune_status status);
/* What the calling thread's last failed call said: what failed and what to do. "" before any
 * failure. Valid until this thread's next call into the library. */
const char* fusetune_last_error(void);
/* Frees a string this library returned through `char**`. NULL is ignored. */
void fusetune_free(char* text);

/* Parses `spec` and writes a JSON description of it to *json; needs no GPU:
 *   {"canonical": "...", "signature": "...",
 *    "main": {"op": "linear", "m": 1024, "n": 8192, "k": 8192, "transpose_a": false,
 *             "transpose_b": false, "dtype": "fp32", "output_dtype": "fp32"}
 *        (a bucket of row counts, m=lo..hi, also has "m_min": lo, and "m" is hi;
 *         a convolution has "n", "c", "k", "size", "kernel", "stride", "padding",
 *         "dilation", "output_padding" (3 values each: d, h, w), "groups", "spatial_dims"
 *         in place of m, n, k and the transposes),
 *    "chain": [{"kind": "elementwise", "op": "mul", "operand": "scalar", "scalars": [2.0],
 *               "mode": "", "tensors": [], "in_shape": [..], "out_shape": [..]}, ...],
 *        (one entry per op after the main op, in order. Every entry has "kind", "op",
 *         "tensors" (its operand tensors' indices in "tensors" below), "in_shape" and
 *         "out_shape" (the value before and after it).
 *         elementwise: operand "none", "scalar", "column", "row", "tensor", "channel" or
 *           "main"; mode: the op's named variant ("erf", "tanh") or "".
 *         pool: "pool" ("max", "avg" or "global_avg"), "kernel", "stride", "padding" (3 values
 *           each, d, h, w, as the convolution's).
 *         reduction: "dims", "keepdim" (sum, mean, amax, amin, logsumexp, softmax,
 *           log_softmax), "normalized_shape" (layer_norm, rms_norm), "groups" (group_norm),
 *           "affine", "training", "track_running_stats" (batch_norm), "scalars" (eps, momentum).)
 *    "main_value_stages": 1,
 *        (how many chain entries come before what a "main" operand reads: 1 after a leading bias)
 *    "tensors": [{"name": "x", "shape": [1024, 8192], "dtype": "fp32", "updated": false}, ...],
 *        (updated: the kernel writes it too, in place: batch_norm's running statistics, the
 *         tensor `save` writes)
 *    "scalars": [{"name": "mul.value", "value": 2.0}, ...],
 *    "main_shape": [...], "output_shape": [...], "output_dtype": "fp32", "flops": 1.37e11,
 *    "backward": {"saving": "linear(...) -> save -> ...", "grad_a": "matmul(...)",
 *                 "grad_a_operands": ["grad_main", "b"], "grad_b": "matmul(...)",
 *                 "grad_b_operands": ["grad_main", "a"]}}
 *        (a training step's kernels: the forward that also saves the main op's result, and the
 *         matmuls giving the gradients of the main op's operands a (x) and b (the weight) from
 *         "grad_main", what fusetune_library_load_backward's kernel writes; each operand list
 *         in launch order. A convolution's grad_a is the convolution the other way, and its
 *         "grad_b" is null, "grad_b_missing" saying why. "grad_a_k_major" and
 *         "grad_b_k_major": {"spec": ..., "operands": [...]} or null, the same product of fp32
 *         data with both operands k-contiguous (what TF32 wgmma takes), an operand named with
 *         "_t" being a transposed copy of that matrix. {"refused": "why"} where the spec has no
 *         fused backward yet.)
 * Fails with FUSETUNE_INVALID_SPEC, the message pointing at the offending character. */
fusetune_status fusetune_describe(const char* spec, char** json);

/* Opens the tuning database at `database_path` (NULL or "": $FUSETUNE_DB, else
 * ${XDG_CACHE_HOME:-$HOME/.cache}/fusetune/tuning.db, created when absent) for CUDA device
 * `device`, with the read-only database named by $FUSETUNE_SYSTEM_DB, if any, beneath it (looked
 * up second, never written). Warnings go to `on_warning(message, user)`, or to standard error when
 * it is NULL; it may be called from any thread that loads. Fails with FUSETUNE_DATABASE_ERROR (the
 * file is left untouched) or FUSETUNE_NO_DEVICE. */
fusetune_status fusetune_library_open(const char* database_path, int device,
                                      fusetune_message_fn on_warning, void* user,
                                      fusetune_library** library);
/* Flags of fusetune_library_open_with_flags, or'ed together. */
/* Production mode: a load that would compile (a spec never tuned whose kernel has no cubin
 * stored, a winner whose cubin is missing) fails with FUSETUNE_NOT_FOUND, naming the spec and how
 * to tune it, instead of running NVRTC; a spec never tuned is still noted for
 * `fusetune tune --misses`. Also set by $FUSETUNE_NO_COMPILE=1. */
#define FUSETUNE_OPEN_NO_COMPILE 1u

/* fusetune_library_open with `flags` (0, or FUSETUNE_OPEN_* or'ed). Fails as it does, and with
 * FUSETUNE_INVALID_ARGUMENT for a flag this library does not know. */
fusetune_status fusetune_library_open_with_flags(const char* database_path, int device,
                                                 unsigned flags, fusetune_message_fn on_warning,
                                                 void* user, fusetune_library** library);
/* Closes a library. Kernels loaded from it stay valid until released. NULL is ignored. */
void fusetune_library_close(fusetune_library* library);

/* Loads the kernel tuned for `spec` at `precision` (see the conventions above) on this
 * library's GPU; nothing is compiled when its cubin is in the database. A spec never tuned gets
 * the winner of the nearest tuned shape or the default configuration, compiled now, and a
 * warning. Loading the same spec again returns a new handle to the same kernel at once. Fails
 * with FUSETUNE_INVALID_SPEC, FUSETUNE_INVALID_ARGUMENT (an unknown precision),
 * FUSETUNE_NOT_FOUND (production mode, FUSETUNE_OPEN_NO_COMPILE, forbids the compile it needs),
 * FUSETUNE_COMPILE_ERROR or FUSETUNE_CUDA_ERROR. $FUSETUNE_LOG=info or debug reports each load on
 * standard error. */
fusetune_status fusetune_library_load(fusetune_library* library, const char* spec,
                                      const char* precision, double tolerance,
                                      fusetune_kernel** kernel);

/* Loads the backward of `spec`'s chain for a training step (Library::load_backward in
 * fusetune.h): its launch takes "grad" (d loss / d output), "saved" (the main op's result, as
 * the "saving" spec of fusetune_describe wrote it), the spec's operands, then a gradient tensor
 * per operand, written; its output is d loss / d the main op's result ("grad_main"). Fails like
 * fusetune_library_load, and with FUSETUNE_INVALID_ARGUMENT naming what has no fused backward
 * yet. */
fusetune_status fusetune_library_load_backward(fusetune_library* library, const char* spec,
                                               fusetune_kernel** kernel);

/* Tunes `spec` at `precision` on this library's GPU into its database (or recalls the stored
 * result, unless `force`), as `fusetune tune` does; at most `max_candidates` candidates
 * (0: the whole space). Kernels loaded afterwards use the new winner; handles loaded before
 * keep the kernel they had. `progress(done, total, precision, user)` hears each candidate when
 * not NULL. On success *report_json (when not NULL) receives:
 *   {"spec": "...", "precision": "3xtf32", "config": "ft_...", "time_ms": 1.23,
 *    "rel_err": 1e-7, "from_cache": false, "tuning_seconds": 12.3,
 *    "sweeps": [{"precision": "fp32", "config": "ft_..." | null, "time_ms": .. | null,
 *                "rel_err": .. | null, "candidates": 300, "compiled": 290,
 *                "failed": {"wrong_result": 2}, "from_cache": false,
 *                "tuning_seconds": 5.0}, ...]}
 * where the top-level fields describe the chosen winner. Fails like fusetune_library_load,
 * with FUSETUNE_NOT_FOUND when no candidate passed verification, and FUSETUNE_NO_DEVICE. */
fusetune_status fusetune_library_tune(fusetune_library* library, const char* spec,
                                      const char* precision, double tolerance, int force,
                                      size_t max_candidates, fusetune_progress_fn progress,
                                      void* user, char** report_json);

/* Releases a kernel handle. NULL is ignored. */
void fusetune_kernel_release(fusetune_kernel* kernel);
/* The canonical spec, and the configuration's procedural name. Owned by the kernel. */
const char* fusetune_kernel_spec(const fusetune_kernel* kernel);
const char* fusetune_kernel_config(const fusetune_kernel* kernel);
/* 1 when the kernel is a tuned winner, 0 when it is the default for an untuned spec. */
int fusetune_kernel_tuned(const fusetune_kernel* kernel);
/* The tuned winner's median time on this GPU in milliseconds, as its tuning measured it; 0 for
 * an untuned spec's kernel. */
double fusetune_kernel_time_ms(const fusetune_kernel* kernel);

/* Allocates what launches on `stream` (a cudaStream_t / CUstream) need: a plan's scratch memory
 * for that stream, which its first launch would otherwise allocate; nothing for one kernel.
 * Launches on `stream` afterwards allocate nothing, so a CUDA graph may capture them: call it
 * before capturing, on the stream that is captured. Fails with FUSETUNE_CUDA_ERROR when the
 * allocation fails. */
fusetune_status fusetune_kernel_prepare(const fusetune_kernel* kernel, void* stream);

/* Enqueues the kernel on `stream` (a cudaStream_t / CUstream; NULL: the legacy default stream)
 * without synchronizing: one kernel, or for a spec that reduces the kernels of its plan, in
 * order. `tensors` holds `tensor_count` device pointers, 16-byte aligned, in the order of the
 * description's "tensors"; those marked "updated" are also written, in place (batch_norm's
 * running statistics). `out` receives "output_shape", contiguous row-major. A plan's scratch
 * memory belongs to the kernel, one block per stream, allocated by fusetune_kernel_prepare or
 * else the first launch on that stream (which fails while the stream is being captured).
 * `scalars` holds `scalar_count` values in the order of "scalars", or is NULL with a count of
 * 0 to use the values written in the spec. Fails with FUSETUNE_INVALID_ARGUMENT naming the
 * offending operand, or FUSETUNE_CUDA_ERROR when CUDA refuses the launch; errors during
 * execution surface at the next synchronization. */
fusetune_status fusetune_kernel_launch(const fusetune_kernel* kernel, void* stream,
                                       const void* const* tensors, size_t tensor_count, void* out,
                                       const float* scalars, size_t scalar_count);

/* As fusetune_kernel_launch, where the caller promises that the tensors numbered in `unchanged`
 * (`unchanged_count` indices into "tensors") hold what they held at the last launch of this
 * kernel on this stream that passed the same pointers: the kernel may reuse what it prepared
 * from them then (int8x's digits of a weight) instead of preparing it again. Say it only of
 * data that does not change between calls, such as an inference model's weights: a broken
 * promise gives wrong results. An index past the tensors fails with FUSETUNE_INVALID_ARGUMENT. */
fusetune_status fusetune_kernel_launch_unchanged(const fusetune_kernel* kernel, void* stream,
                                                 const void* const* tensors, size_t tensor_count,
                                                 void* out, const float* scalars,
                                                 size_t scalar_count, const size_t* unchanged,
                                                 size_t unchanged_count);

#ifdef __cplusplus
}
#endif

#endif /* FUSETUNE_FUSETUNE_C_H_ */
