"""fusetune for PyTorch: fused kernels that take and return torch tensors.

    import fusetune.torch as ft
    y = ft.linear(x, layer.weight, layer.bias, epilogue="mul(2.0) -> leaky_relu(0.1)")
    ft.tune(model, x)           # once: tunes every fused call model(x) makes, into the database

Every call reads its shapes off the tensors, writes the spec (`linear(m=1024, n=8192, k=8192)
-> bias -> mul(2.0) -> leaky_relu(0.1)`), checks the tensors (device, dtype, shape, contiguity)
and launches the kernel tuned for that spec on the current CUDA stream. A spec never tuned runs
a default kernel, with a FusetuneWarning saying how to tune it.

The calls are one custom op, `torch.ops.fusetune.fused` (`fused_updating` where the kernel also
updates batch_norm's running statistics), which torch.compile traces without a graph break
(PyTorch 2.4 and later). They are differentiable. A linear or matmul call whose epilogue is
elementwise ops has a fused backward: the forward also saves the main op's result, and the
backward runs the chain's derivative and two tuned matmuls (fusetune::fused_saving and
fusetune::fused_backward, at the call's precision); other calls' backward runs PyTorch's own ops
on the spec (recomputing the forward chain).

Precision: by default "torch", what PyTorch itself would compute the call's main op at, as the
program has set PyTorch's switches when the call runs: where PyTorch would use TF32 tensor cores
(fp32 convolutions by default; matmuls after torch.backends.cuda.matmul.fp32_precision = "tf32"
or torch.set_float32_matmul_precision("high")), "auto" within TF32's error (5e-4), which
lets the fastest of TF32, 3xTF32 and fp32 win; elsewhere "auto" at fp32 level (1e-5): exact
fp32 or 3xTF32. Pass `precision=` or `tolerance=` per call, or set_precision() for the process
("auto" for fp32 level everywhere); $FUSETUNE_PRECISION and $FUSETUNE_TOLERANCE set the
starting default. tune() reports what each call asked for and why.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from typing import Any, Callable, Sequence, Union

import torch

from fusetune._errors import FusetuneWarning, InvalidArgument
from fusetune._library import Progress, describe, set_database, shared_library
from fusetune.torch import _op, _specs, _training
from fusetune.torch._checks import check_main_operands
from fusetune.torch._reference import evaluate as _evaluate
from fusetune.torch._torch_precision import allows_tf32 as _allows_tf32
from fusetune.torch._torch_precision import kind_of as _kind_of

PRECISIONS = ("torch", "auto", "fp32", "3xtf32", "int8x", "tf32", "bf16", "fp16", "")
# The tolerance "torch" gives auto where PyTorch would use TF32: TF32's own default, which
# admits TF32 (typically 3e-4 at K in the thousands) and everything more accurate.
TF32_TOLERANCE = 5e-4

# The ops after the main op, in spec syntax: "mul(2.0) -> leaky_relu(0.1)", or one op a string.
Epilogue = Union[str, Sequence[str]]
# A convolution's stride, padding, ...: one int for every spatial dimension, or one each.
PerDimension = Union[int, Sequence[int]]


def _invalid(message):
    return InvalidArgument(message, "invalid_argument")


def _checked_precision(precision, tolerance, where):
    if precision not in PRECISIONS:
        raise _invalid(f"{where}: unknown precision {precision!r}; use one of "
                       f"{', '.join(repr(p) for p in PRECISIONS)} ('': each spec's own)")
    try:
        tolerance = float(tolerance or 0)
    except (TypeError, ValueError):
        raise _invalid(f"{where}: the tolerance must be a number, got {tolerance!r}") from None
    if tolerance < 0:
        raise _invalid(f"{where}: the tolerance must not be negative, got {tolerance}")
    return precision, tolerance


_precision, _tolerance = _checked_precision(os.environ.get("FUSETUNE_PRECISION", "torch"),
                                            os.environ.get("FUSETUNE_TOLERANCE", "0"),
                                            "$FUSETUNE_PRECISION / $FUSETUNE_TOLERANCE")
_recorded = None  # while tune() records: the calls seen, {(device, spec, precision, tol): why}


def _on(value):
    return value.strip().lower() not in ("", "0", "false", "no")


_fused_backward = _on(os.environ.get("FUSETUNE_FUSED_BACKWARD", "1"))


def set_fused_backward(enabled: bool = True) -> None:
    """Whether calls with a fused backward use it (the default, or $FUSETUNE_FUSED_BACKWARD);
    False differentiates every call through PyTorch's own ops on its spec, as calls without
    one are: to compare the two, or to step around a fused backward."""
    global _fused_backward
    _fused_backward = bool(enabled)


def set_constant_weights(enabled: bool = True) -> None:
    """For inference: whether each call takes its weight (a linear layer's or matmul's second
    operand, a convolution's filter) as unchanged while its address and PyTorch's version counter
    are, so that what a kernel prepares from it (int8x's digits) is prepared once per stream, not
    at every call. Off by default (or $FUSETUNE_CONSTANT_WEIGHTS=1). A weight changed in a way
    PyTorch does not count (through .data, or by code outside PyTorch) keeps its old digits: use
    it where weights do not change."""
    _op.constant_weights = bool(enabled)
    _op.forget_kernels()


def set_precision(precision: str = "torch", tolerance: float | None = None) -> None:
    """Sets the precision calls use when they pass none: "torch" (what PyTorch would use, see
    the module's help), "auto", "fp32", "3xtf32", "int8x", "tf32", "bf16", "fp16", or "" (each
    spec's native precision); `tolerance` bounds auto's error (None: its default, 1e-5 for fp32
    outputs)."""
    global _precision, _tolerance
    _precision, _tolerance = _checked_precision(precision or "", tolerance, "set_precision")
    _op.forget_kernels()


def _reads_fp32(spec):
    return "dtype=bf16" not in spec and "dtype=fp16" not in spec


def _settings_and_reason(spec, precision, tolerance):
    """The precision and tolerance a call of `spec` loads with, and why (for tune's report)."""
    if precision is None:
        precision = _precision
        if tolerance is None:
            tolerance = _tolerance
    precision, tolerance = _checked_precision(precision, tolerance, "precision")
    if precision != "torch":
        return precision, tolerance, "asked for"
    if tolerance or not _reads_fp32(spec):
        return "auto", tolerance, "asked for" if tolerance else "16-bit inputs"
    tf32, why = _pytorch_allows_tf32(_kind_of(spec))
    return "auto", TF32_TOLERANCE if tf32 else 0.0, f"as PyTorch would: {why}"


@_op._constant_while_compiling
def _pytorch_allows_tf32(kind):
    """allows_tf32 for `kind` as PyTorch is set now; torch.compile reads it once, while tracing
    (its switches are not traceable)."""
    return _allows_tf32(torch, kind)


def fused(spec: str, *tensors: torch.Tensor, precision: str | None = None,
          tolerance: float | None = None) -> torch.Tensor:
    """Runs `spec` (fusetune's spec text) on `tensors`, given in the order its description
    lists them (fusetune.describe(spec).tensors), and returns the new output tensor. Tensors
    the description marks `updated` (batch_norm's running statistics in training mode) are
    updated in place, as nn.BatchNorm updates its own."""
    precision, tolerance, reason = _settings_and_reason(spec, precision, tolerance)
    for i, tensor in enumerate(tensors):  # the op's dispatcher would refuse it less clearly
        if not isinstance(tensor, torch.Tensor):
            name = describe(spec).tensors[i].name if i < len(describe(spec).tensors) else i
            raise InvalidArgument(f"{name} must be a torch.Tensor, not {type(tensor).__name__}",
                                  "invalid_argument")
    if _recorded is not None:
        output = _op.placeholder(spec, tensors)
        _recorded[(tensors[0].device.index or 0, _specs.at_rows(spec, tensors[0].shape[0]),
                   precision, tolerance)] = reason
        return output
    if tensors and tensors[0].device.type == "meta":  # shape inference: nothing to run
        return _op.placeholder(spec, tensors)
    if _op.plain_eager_call(tensors):
        return _op.launch(spec, precision, tolerance, tensors)
    if _fused_backward and _training.run is not None and _op.needs_gradients(tensors) and \
            _training.has_fused_backward(spec):
        return _training.run(spec, precision, tolerance, tensors)
    return _op.run(spec, precision, tolerance, tensors)


def _inputs(op, x, weight, bias, epilogue, operands):
    """The tensors of a call in launch order, after the checks its arguments need."""
    if epilogue is None:
        epilogue = ""
    if isinstance(operands, torch.Tensor):
        raise _invalid(f"{op}: operands must be a list or tuple of tensors; pass [tensor]")
    first = epilogue.strip().lstrip("->").strip() if isinstance(epilogue, str) else \
        (epilogue[0].strip() if len(epilogue) else "")
    if bias is not None and (first == "bias" or first.startswith("bias ")):
        raise _invalid(f"{op}: the bias argument already adds '-> bias' to the spec; leave "
                       "bias out of the epilogue, or pass bias=None")
    return [x, weight] + ([bias] if bias is not None else []) + list(operands)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, *,
           epilogue: Epilogue = "", operands: Sequence[torch.Tensor] = (),
           precision: str | None = None, tolerance: float | None = None) -> torch.Tensor:
    """`epilogue(F.linear(x, weight, bias))` in one kernel. x [..., in_features], weight
    [out_features, in_features], bias [out_features] or None; `epilogue` is the ops after it in
    spec syntax ("mul(2.0) -> leaky_relu(0.1)", "add(tensor) -> gelu", "softmax(dim=1)") and
    `operands` the tensors its ops name (channel, column, row, tensor; a normalization's
    running mean and variance, weight and bias), in the order describe() lists them. The
    epilogue sees the value [M, N], x's leading dimensions flattened into M: dim=1 is the
    features; the output gets x's leading dimensions back while the rows remain."""
    check_main_operands("linear", x, weight, None)
    k = x.shape[-1]
    m = x.numel() // k if k else 0
    if weight.shape[1] != k:
        raise InvalidArgument(f"linear: weight has shape {tuple(weight.shape)} but x's last "
                              f"dimension is {k}: weight must be [out_features, {k}]",
                              "invalid_argument")
    # A traced call leaves m to each call (ROWS): where torch.compile makes the rows a symbol
    # (dynamic=True), one graph serves every size. Tracing, not m's type, decides: while
    # torch.compile traces, a symbolic m passes isinstance(m, int) and its text fixes the size.
    spec = _specs.linear(_specs.ROWS if _op.compiling() else m, weight.shape[0], k, x.dtype,
                         bias is not None, _specs.hashable(epilogue or ""))
    if not x.is_contiguous():
        raise InvalidArgument(f"x is not contiguous (strides {x.stride()}); fusetune kernels "
                              "read row-major tensors: pass x.contiguous()", "invalid_argument")
    flat = x.reshape(m, k)
    tensors = [flat] + _inputs("linear", x, weight, bias, epilogue, operands)[1:]
    out = fused(spec, *tensors, precision=precision, tolerance=tolerance)
    if x.dim() == 2 or not _op.keeps_rows(spec):
        return out
    return out.reshape(*x.shape[:-1], *out.shape[1:])


def _convolution(op, dims, x, weight, bias, arguments, epilogue, operands, precision,
                 tolerance):
    check_main_operands(op, x, weight, dims + 2)
    tensors = _inputs(op, x, weight, bias, epilogue, operands)
    key = tuple((name, tuple(v) if isinstance(v, list) else v) for name, v in arguments.items())
    spec = _specs.convolution(op, tuple(x.shape), tuple(weight.shape), key, x.dtype,
                              bias is not None, _specs.hashable(epilogue or ""))
    return fused(spec, *tensors, precision=precision, tolerance=tolerance)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: PerDimension = 1, padding: PerDimension = 0, dilation: PerDimension = 1,
           groups: int = 1, *, epilogue: Epilogue = "", operands: Sequence[torch.Tensor] = (),
           precision: str | None = None, tolerance: float | None = None) -> torch.Tensor:
    """`epilogue(F.conv2d(x, weight, bias, stride, padding, dilation, groups))` in one kernel;
    the epilogue may pool (`max_pool2d(2)`). See linear() for epilogue and operands."""
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return _convolution("conv2d", 2, x, weight, bias, arguments, epilogue, operands,
                        precision, tolerance)


def conv3d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: PerDimension = 1, padding: PerDimension = 0, dilation: PerDimension = 1,
           groups: int = 1, *, epilogue: Epilogue = "", operands: Sequence[torch.Tensor] = (),
           precision: str | None = None, tolerance: float | None = None) -> torch.Tensor:
    """conv2d() in three spatial dimensions (F.conv3d)."""
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return _convolution("conv3d", 3, x, weight, bias, arguments, epilogue, operands,
                        precision, tolerance)


def conv_transpose2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                     stride: PerDimension = 1, padding: PerDimension = 0,
                     output_padding: PerDimension = 0, groups: int = 1,
                     dilation: PerDimension = 1, *, epilogue: Epilogue = "",
                     operands: Sequence[torch.Tensor] = (), precision: str | None = None,
                     tolerance: float | None = None) -> torch.Tensor:
    """`epilogue(F.conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups,
    dilation))` in one kernel. See conv2d()."""
    arguments = dict(stride=stride, padding=padding, output_padding=output_padding,
                     dilation=dilation, groups=groups)
    return _convolution("conv_transpose2d", 2, x, weight, bias, arguments, epilogue,
                        operands, precision, tolerance)


def conv_transpose3d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                     stride: PerDimension = 1, padding: PerDimension = 0,
                     output_padding: PerDimension = 0, groups: int = 1,
                     dilation: PerDimension = 1, *, epilogue: Epilogue = "",
                     operands: Sequence[torch.Tensor] = (), precision: str | None = None,
                     tolerance: float | None = None) -> torch.Tensor:
    """conv_transpose2d() in three spatial dimensions (F.conv_transpose3d)."""
    arguments = dict(stride=stride, padding=padding, output_padding=output_padding,
                     dilation=dilation, groups=groups)
    return _convolution("conv_transpose3d", 3, x, weight, bias, arguments, epilogue,
                        operands, precision, tolerance)


def reference(spec: str, *tensors: torch.Tensor) -> torch.Tensor:
    """What `spec` computes on `tensors`, with PyTorch's own ops (what the backward pass
    differentiates); for checking fused results. Like the kernel, it updates the tensors the
    description marks `updated` in place."""
    description = describe(spec)
    if len(tensors) != len(description.tensors):
        names = ", ".join(t.name for t in description.tensors)
        raise _invalid(f"{description.canonical} takes {len(description.tensors)} tensors "
                       f"({names}), got {len(tensors)}")
    return _evaluate(description, tensors)


@contextlib.contextmanager
def _recording():
    global _recorded
    _recorded = {}
    try:
        yield _recorded
    finally:
        _recorded = None


def tune(function: Callable[..., Any], *inputs: Any, precision: str | None = None,
         tolerance: float | None = None, force: bool = False, max_candidates: int = 0,
         progress: Progress = True, backward: bool = False) -> list[dict[str, Any]]:
    """Tunes every fused call `function(*inputs)` makes (a module or any callable), into the
    database, and returns a report per spec (a dict: spec, precision, config, time_ms, rel_err,
    from_cache, tuning_seconds, and `asked`: the precision and tolerance the call loads with
    and why, e.g. "as PyTorch would: torch.backends.cudnn.conv.fp32_precision is 'tf32'").
    `backward`: also the kernels of each call's training step, where it has a fused backward
    (the forward that saves the main op's result, and the two matmuls of its gradients), each
    report's `for` naming the call's spec and the step.
    `function` runs once under torch.no_grad with its fused calls recorded, not launched:
    their outputs are uninitialised. A spec tuned before is recalled unless `force`;
    `max_candidates` > 0 bounds each sweep; `precision` and `tolerance` override those of the
    calls."""
    with _recording() as calls, torch.no_grad():
        function(*inputs)
    if not calls:
        warnings.warn("tune: the function made no fusetune calls, so there was nothing to tune "
                      "(is it the model that calls fusetune.torch?)", FusetuneWarning,
                      stacklevel=2)
    reports = []
    for (device, spec, call_precision, call_tolerance), reason in calls.items():
        if precision is not None:
            call_precision, call_tolerance, reason = _settings_and_reason(spec, precision,
                                                                          tolerance)
        steps = [(spec, None)]
        if backward and _training.has_fused_backward(spec):
            plan = _training.plan(spec)
            steps += [(plan[step], step) for step in ("saving", "grad_a", "grad_b")
                      if plan[step] is not None]  # a convolution has no grad_b kernel yet
            # The products' k-major forms too: the backward runs whichever is faster.
            steps += [(plan[step]["spec"], step) for step in ("grad_a_k_major", "grad_b_k_major")
                      if plan.get(step)]
        for step_spec, step in steps:
            report = shared_library(device).tune(
                step_spec, call_precision or None, call_tolerance or None, force=force,
                max_candidates=max_candidates, progress=progress)
            report["asked"] = {"precision": call_precision or "native",
                               "tolerance": call_tolerance, "because": reason}
            if step:
                report["for"] = {"spec": spec, "step": step}
            reports.append(report)
    _op.forget_kernels()
    _training.forget_kernels()
    return reports


__all__ = ["PRECISIONS", "conv2d", "conv3d", "conv_transpose2d", "conv_transpose3d", "fused",
           "linear", "reference", "set_constant_weights", "set_database", "set_fused_backward",
           "set_precision", "tune"]
