"""Python objects over the C interface: spec descriptions, libraries (a tuning database on one
GPU), kernels and tuning. Knows nothing of PyTorch: kernels take raw device pointers."""

from __future__ import annotations

import ctypes
import functools
import json
import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, Union

from fusetune import _capi
from fusetune._errors import FusetuneError, FusetuneWarning, InvalidArgument, error_for
from fusetune._progress import ProgressBar


def _fail(status):
    lib = _capi.library()
    code = lib.fusetune_status_name(status).decode()
    return error_for(code, lib.fusetune_last_error().decode())


def _text(value):
    return value.encode() if value else None


@dataclass(frozen=True)
class TensorInfo:
    """An input of a kernel: its name in the spec ("x", "weight", "mul_channel"), its contiguous
    shape, its element type ("fp32", "bf16" or "fp16"), and whether the kernel also writes it in
    place (`updated`: batch_norm's running statistics in training mode)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    updated: bool = False


@dataclass(frozen=True)
class Description:
    """A parsed spec, as fusetune_describe prints it (include/fusetune/fusetune_c.h)."""

    canonical: str
    main: dict[str, Any]  # the main op: "op", its shape and geometry, "dtype"
    # One dict per op after the main op, in order: "kind" ("elementwise", "pool" or
    # "reduction"), "op", "tensors" (its operands' indices into `tensors`), "in_shape" and
    # "out_shape", and the kind's own keys (fusetune_describe in fusetune_c.h lists them).
    chain: tuple[dict[str, Any], ...]
    main_value_stages: int  # how many chain entries come before what a "main" operand reads
    tensors: tuple[TensorInfo, ...]  # per input, in launch order
    scalars: tuple[tuple[str, float], ...]  # (name, value) per scalar argument, in launch order
    output_shape: tuple[int, ...]
    output_dtype: str
    flops: float
    main_shape: tuple[int, ...] = ()  # the main op's result: [M, N], or [N, K, ...]
    # A training step's kernels (fusetune_describe in fusetune_c.h): "saving", "grad_a",
    # "grad_a_operands", "grad_b" (None for a convolution, "grad_b_missing" says why),
    # "grad_b_operands"; or {"refused": why}.
    backward: dict[str, Any] = field(default_factory=dict)


@functools.lru_cache(maxsize=4096)
def describe(spec: str) -> Description:
    """The Description of `spec`; needs no GPU. Raises SpecError pointing at what is wrong."""
    if not isinstance(spec, str):
        raise InvalidArgument(f"a spec is a str, not {type(spec).__name__}", "invalid_argument")
    out = ctypes.c_void_p()
    status = _capi.library().fusetune_describe(spec.encode(), ctypes.byref(out))
    if status != 0:
        raise _fail(status)
    d = json.loads(_capi.take_string(out))
    return Description(
        canonical=d["canonical"], main=d["main"], chain=tuple(d["chain"]),
        main_value_stages=d["main_value_stages"],
        tensors=tuple(TensorInfo(t["name"], tuple(t["shape"]), t["dtype"], t["updated"])
                      for t in d["tensors"]),
        scalars=tuple((s["name"], s["value"]) for s in d["scalars"]),
        output_shape=tuple(d["output_shape"]), output_dtype=d["output_dtype"], flops=d["flops"],
        backward=d.get("backward", {}), main_shape=tuple(d.get("main_shape", ())))


class Kernel:
    """A loaded kernel. launch() may be called from any thread."""

    def __init__(self, handle: ctypes.c_void_p, tensor_count: int) -> None:
        lib = _capi.library()
        self._handle = handle
        self._tensor_count = tensor_count
        self.spec = lib.fusetune_kernel_spec(handle).decode()
        self.config = lib.fusetune_kernel_config(handle).decode()
        self.tuned = bool(lib.fusetune_kernel_tuned(handle))
        # The tuned winner's time in ms as its tuning measured it; 0.0 when untuned.
        self.time_ms = lib.fusetune_kernel_time_ms(handle)
        self._pointers = ctypes.c_void_p * tensor_count
        # Held here: at interpreter exit the modules' globals may be gone before this kernel.
        self._release = lib.fusetune_kernel_release

    def prepare(self, stream: int) -> None:
        """Allocates what launches on `stream` (a cudaStream_t as an int) need: a plan's scratch
        memory for that stream, which its first launch would otherwise allocate. Launches on
        `stream` afterwards allocate nothing, so a CUDA graph may capture them: call it on the
        stream that is captured, before capturing."""
        status = _capi.library().fusetune_kernel_prepare(self._handle, stream)
        if status != 0:
            raise _fail(status)

    def launch(self, stream: int, tensors: Sequence[int], out: int,
               scalars: Sequence[float] | None = None,
               unchanged: Sequence[int] | None = None) -> None:
        """Enqueues the kernel on `stream` (a cudaStream_t as an int; 0: the default stream).
        `tensors` are device addresses (ints) in Description.tensors order, `out` the output's;
        `scalars` override the spec's values, one per Description.scalars. `unchanged`: indices
        of tensors the caller promises hold what they held at this kernel's last launch on this
        stream at the same address (an inference model's weights), whose prepared form (int8x's
        digits) the kernel may then reuse; a broken promise gives wrong results."""
        lib = _capi.library()
        pointers = self._pointers(*tensors)
        values, count = None, 0
        if scalars:
            count = len(scalars)
            values = (ctypes.c_float * count)(*scalars)
        kept = (ctypes.c_size_t * len(unchanged))(*unchanged) if unchanged else None
        status = lib.fusetune_kernel_launch_unchanged(self._handle, stream, pointers,
                                                      len(tensors), out, values, count, kept,
                                                      len(unchanged) if unchanged else 0)
        if status != 0:
            raise _fail(status)

    def __del__(self):
        if getattr(self, "_handle", None):
            self._release(self._handle)

    def __repr__(self) -> str:
        return f"<fusetune.Kernel {self.config} ({'tuned' if self.tuned else 'untuned'})>"


def _warn(message, _user):
    text = message.decode()
    if "Run `fusetune tune" in text:  # the library speaks to command-line users
        text += " From Python: fusetune.torch.tune(model, *inputs)."
    warnings.warn(text, FusetuneWarning, stacklevel=4)


_on_warning = _capi.MESSAGE_FN(_warn)

# What tune() does with progress: True draws a bar on stderr, False says nothing, and a callable
# receives (done, total, precision).
Progress = Union[bool, Callable[[int, int, str], None]]


class Library:
    """A tuning database opened for one CUDA device. Thread safe.

    `database`: a path; None: $FUSETUNE_DB, else ~/.cache/fusetune/tuning.db. `no_compile`
    (production mode; also $FUSETUNE_NO_COMPILE=1): a load that would compile raises
    FusetuneError(code="not_found") naming the spec and how to tune it, instead of compiling.
    Raises NoDevice without a usable GPU, FusetuneError(code="database_error") when the file
    cannot be used."""

    def __init__(self, database: str | None = None, device: int = 0,
                 no_compile: bool = False) -> None:
        handle = ctypes.c_void_p()
        flags = _capi.OPEN_NO_COMPILE if no_compile else 0
        status = _capi.library().fusetune_library_open_with_flags(
            _text(database), device, flags, _on_warning, None, ctypes.byref(handle))
        if status != 0:
            raise _fail(status)
        self._handle = handle
        # Held here: at interpreter exit the modules' globals may be gone before this library.
        self._close_handle = _capi.library().fusetune_library_close
        self.database = database
        self.device = device
        self.no_compile = no_compile

    def load(self, spec: str, precision: str | None = None,
             tolerance: float | None = None) -> Kernel:
        """The kernel tuned for `spec` at `precision` ("fp32", "3xtf32", "tf32", "bf16", "fp16",
        "auto"; None: the spec's native one). An untuned spec loads a default kernel with a
        FusetuneWarning."""
        handle = ctypes.c_void_p()
        status = _capi.library().fusetune_library_load(
            self._handle, spec.encode(), _text(precision), tolerance or 0.0, ctypes.byref(handle))
        if status != 0:
            raise _fail(status)
        return Kernel(handle, len(describe(spec).tensors))

    def load_backward(self, spec: str) -> Kernel:
        """The backward of `spec`'s chain for a training step: its launch takes d loss / d output
        ("grad"), the main op's result as Description.backward["saving"] saved it, the spec's
        operands, then a gradient tensor per operand (written); its output is d loss / d the
        main op's result, from which the matmuls of Description.backward give the operands'.
        Raises InvalidArgument naming what has no fused backward yet."""
        handle = ctypes.c_void_p()
        status = _capi.library().fusetune_library_load_backward(
            self._handle, spec.encode(), ctypes.byref(handle))
        if status != 0:
            raise _fail(status)
        return Kernel(handle, 2 + 2 * (len(describe(spec).tensors) - 2))

    def tune(self, spec: str, precision: str | None = None, tolerance: float | None = None,
             force: bool = False, max_candidates: int = 0,
             progress: Progress = True) -> dict[str, Any]:
        """Tunes `spec` into the database, or recalls the stored result unless `force`; returns
        the report (a dict: spec, precision, config, time_ms, rel_err, from_cache,
        tuning_seconds, sweeps). `progress`: True draws a bar on stderr, a callable receives
        (done, total, precision), False is silent. Raises FusetuneError(code="not_found") when
        no candidate passed verification."""
        bar = ProgressBar(f"tuning {spec}") if progress is True else None
        hear = bar.update if bar else (progress if callable(progress) else None)
        callback = _capi.PROGRESS_FN(lambda d, t, p, _: hear(d, t, p.decode())) if hear else \
            _capi.PROGRESS_FN()
        report = ctypes.c_void_p()
        try:
            status = _capi.library().fusetune_library_tune(
                self._handle, spec.encode(), _text(precision), tolerance or 0.0, int(force),
                max_candidates, callback, None, ctypes.byref(report))
        finally:
            if bar:
                bar.close()
        if status != 0:
            raise _fail(status)
        return json.loads(_capi.take_string(report))

    def close(self) -> None:
        if getattr(self, "_handle", None):
            self._close_handle(self._handle)
            self._handle = None

    __del__ = close


_shared_lock = threading.Lock()
_shared = {}
_database = None


def set_database(path: str | os.PathLike[str] | None) -> None:
    """Makes `path` the database of the libraries shared by this process (None: $FUSETUNE_DB,
    else the default); libraries already open are closed."""
    global _database
    with _shared_lock:
        _database = os.fspath(path) if path is not None else None
        _shared.clear()


def shared_library(device: int = 0) -> Library:
    """The process-wide Library for `device`, opened on first use."""
    with _shared_lock:
        library = _shared.get(device)
        if library is None:
            library = _shared[device] = Library(_database, device)
        return library


def version() -> str:
    """The version of the loaded libfusetune.so."""
    return _capi.library().fusetune_version().decode()


__all__ = ["Description", "FusetuneError", "Kernel", "Library", "TensorInfo", "describe",
           "set_database", "shared_library", "version"]
