"""A fused call's training path. Where a spec has a fused backward (a chain of elementwise ops
with at most one pool step: fusetune.describe(spec).backward), a call that needs gradients runs
the spec with `save` first, which also writes the main op's result, and its backward runs fused
kernels: the chain's derivative (g' = d loss / d the main op's result, and the operands'
gradients, column and channel sums included, through the pool's windows) and the products
giving x's and the weight's gradients from g' (two matmuls; for a convolution, the convolution
the other way, and PyTorch's weight gradient until fusetune has one, at fp32-accurate
precisions as three TF32 passes over split operands), each tuned and cached like any spec, at
the forward's precision. Two custom ops,
fusetune::fused_saving and fusetune::fused_backward, so that torch.compile traces forward and
backward without a graph break."""

import functools
import threading
from typing import List

import torch

from fusetune import _library as _library_module
from fusetune._errors import FusetuneError
from fusetune._library import Library, describe, shared_library
from fusetune.torch import _op, _specs, _torch_precision

_backward_kernels = {}
_backward_lock = threading.Lock()


@_op._constant_while_compiling
def has_fused_backward(spec):
    """Whether `spec` (at any rows) has a fused backward."""
    return "refused" not in describe(_specs.at_rows(spec, 2)).backward


def plan(spec):
    """The training step's specs for a spec of concrete rows: saving, grad_a, grad_b and their
    operands (Description.backward)."""
    return describe(spec).backward


def _chain_kernel(device, spec):
    key = (device, spec)
    kernel = _backward_kernels.get(key)
    if kernel is None:
        kernel = shared_library(device).load_backward(spec)
        with _backward_lock:
            _backward_kernels[key] = kernel
    return kernel


def forget_kernels():
    """Drops the loaded backward kernels and the products' chosen forms (after tuning, say)."""
    with _backward_lock:
        _backward_kernels.clear()
        _forms.clear()
    _probe_library.cache_clear()


def _device_and_stream(tensor):
    device = tensor.device.index if tensor.device.index is not None else 0
    return device, torch.cuda.current_stream(tensor.device).cuda_stream


def _saved_shape(spec, out):
    """The shape of the main op's result, which `save` writes: a spec written with ROWS is a
    GEMM's whose chain keeps the shape, so the output's (symbolic rows included)."""
    return tuple(out.shape) if _specs.ROWS in spec else describe(spec).main_shape


def saving_forward(spec, precision, tolerance, tensors):
    """The output of `spec` on `tensors`, and the main op's result it saved."""
    spec = _specs.at_rows(spec, tensors[0].shape[0])
    saved = torch.empty(describe(spec).main_shape, dtype=tensors[0].dtype,
                        device=tensors[0].device)
    out = _op.launch(plan(spec)["saving"], precision, tolerance,
                     [tensors[0], tensors[1], saved, *tensors[2:]])
    return out, saved


def fused_gradients(spec, precision, tolerance, grad, saved, tensors, wanted):
    """The gradients of `spec`'s output for `grad` with respect to the tensors flagged in
    `wanted` (empty tensors for the others), by the fused backward."""
    spec = _specs.at_rows(spec, tensors[0].shape[0])
    steps = plan(spec)
    device, stream = _device_and_stream(grad)
    grad = grad.contiguous()
    operands = list(tensors[2:])
    operand_grads = [torch.empty_like(t) for t in operands]
    grad_main = torch.empty_like(saved)
    _chain_kernel(device, spec).launch(
        stream, [t.data_ptr() for t in [grad, saved, *operands, *operand_grads]],
        grad_main.data_ptr())
    roles = {"grad_main": grad_main, "a": tensors[0], "b": tensors[1]}
    results = []
    for i, step in ((0, "grad_a"), (1, "grad_b")):
        if not wanted[i]:
            results.append(tensors[i].new_empty(0))
        elif steps[step] is None:  # a convolution's weight gradient: PyTorch's, from g'
            results.append(_weight_gradient(describe(spec).main, grad_main, tensors, precision,
                                            tolerance))
        else:
            kernel, operands = _fastest_form(device, steps, step, precision, tolerance, roles)
            out = torch.empty_like(tensors[i])
            # Held until launched: two transposed copies freed early could share one block.
            inputs = [_operand(roles, r) for r in operands]
            kernel.launch(stream, [t.data_ptr() for t in inputs], out.data_ptr())
            results.append(out)
    return results + [g if w else g.new_empty(0) for g, w in zip(operand_grads, wanted[2:])]


def _operand(roles, name):
    """The tensor a product's operand names: a role, or with "_t" its transposed copy."""
    if name.endswith("_t"):
        return roles[name[:-2]].t().contiguous()
    return roles[name]


_forms = {}
_transposes_ms = {}


def _tuned_kernel(device, spec, precision, tolerance):
    """The tuned kernel of `spec`, or None where it has none: loaded without compiling."""
    try:
        kernel = _probe_library(_library_module._database, device).load(
            spec, precision or None, tolerance or None)
    except FusetuneError:
        return None
    return kernel if kernel.tuned else None


@functools.lru_cache(maxsize=None)
def _probe_library(database, device):
    """A library on the process's database that never compiles: it loads tuned kernels only."""
    return Library(database, device, no_compile=True)


def _transpose_ms(tensor):
    """What a transposed copy of `tensor` costs, measured once per shape and dtype."""
    key = (tuple(tensor.shape), tensor.dtype)
    if key not in _transposes_ms:
        times = []
        for _ in range(3):
            start, end = (torch.cuda.Event(enable_timing=True),
                          torch.cuda.Event(enable_timing=True))
            start.record()
            tensor.t().contiguous()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        _transposes_ms[key] = sorted(times)[1]
    return _transposes_ms[key]


def _fastest_form(device, steps, step, precision, tolerance, roles):
    """The kernel and operands of product `step`: as its operands are stored, or in its k-major
    form after transposed copies (Description.backward[step + "_k_major"]), whichever is faster
    by the tunings' times and the copies' measured cost. The k-major form only where it is
    tuned (ft.tune(..., backward=True) tunes both); chosen once per spec and precision."""
    stored = (steps[step], steps[step + "_operands"])
    k_major = steps.get(step + "_k_major")
    key = (device, stored[0], precision, tolerance)
    if key not in _forms:
        choice = stored
        k_kernel = _tuned_kernel(device, k_major["spec"], precision, tolerance) if k_major \
            else None
        if k_kernel is not None and not torch.cuda.is_current_stream_capturing():
            s_kernel = _tuned_kernel(device, stored[0], precision, tolerance)
            copies = sum(_transpose_ms(roles[r[:-2]]) for r in k_major["operands"]
                         if r.endswith("_t"))
            if s_kernel is None or k_kernel.time_ms + copies < s_kernel.time_ms:
                choice = (k_major["spec"], k_major["operands"])
        _forms[key] = choice
    spec, operands = _forms[key]
    return _op._kernel(device, spec, precision, tolerance), operands


def convolution_backward(main, grad_main, x, weight, which):
    """PyTorch's (cuDNN's) convolution_backward from g' for the convolution `main` (a
    Description's main op): the gradients of x, weight and bias that `which` flags."""
    dims = main["spatial_dims"]

    def spatial(name):
        return list(main[name][3 - dims:])

    return torch.ops.aten.convolution_backward(
        grad_main, x, weight, None, spatial("stride"), spatial("padding"), spatial("dilation"),
        main["op"].startswith("conv_transpose"), spatial("output_padding"), main["groups"], which)


def _weight_gradient(main, grad_main, tensors, precision, tolerance):
    """A convolution's weight gradient from g', by PyTorch (cuDNN): fusetune has no kernel for
    it yet (Description.backward["grad_b_missing"]). At the call's precision: TF32 where the
    call allows TF32's error; IEEE fp32 where it asks for fp32; else (auto, 3xtf32, int8x) as
    3xTF32 does it, in three TF32 passes whose sum keeps fp32's accuracy (_split_tf32)."""
    x = tensors[0]

    def weight_gradient(g, x):
        return convolution_backward(main, g, x, tensors[1], [False, True, False])[1]

    tf32 = precision == "tf32" or (precision == "auto" and tolerance >= 1e-4)
    if tf32 or precision == "fp32" or x.dtype != torch.float32:
        with _torch_precision.convolutions_at(torch, tf32):
            return weight_gradient(grad_main, x)
    g_high, g_low = _split_tf32(grad_main)
    x_high, x_low = _split_tf32(x)
    with _torch_precision.convolutions_at(torch, True):
        small = weight_gradient(g_high, x_low) + weight_gradient(g_low, x_high)
        return small + weight_gradient(g_high, x_high)


def _split_tf32(t):
    """fp32 `t` as a TF32 value and the rest, t = high + low exactly: high keeps the sign, the
    exponent and the mantissa's top 10 bits (the 13 below cut off), so a TF32 tensor core
    takes it whole; low is at most 2^-10 of t, and the TF32 rounding of low in the products
    costs about 2^-21 of t. The products high·high + high·low + low·high then miss t's only by
    low·low (2^-20) and TF32's rounding of the small terms, as 3xTF32's kernels do."""
    high = (t.contiguous().view(torch.int32) & -8192).view(torch.float32)
    return high, t - high


if hasattr(torch.library, "custom_op") and hasattr(torch.library, "register_autograd"):

    # The output, the main op's saved result, and copies of the tensors the kernel updates
    # (batch_norm's running statistics), which run() copies back: the op mutates none of its
    # inputs, as torch.compile requires of what it does not declare.
    @torch.library.custom_op("fusetune::fused_saving", mutates_args=())
    def _fused_saving(spec: str, precision: str, tolerance: float,
                      tensors: List[torch.Tensor]) -> List[torch.Tensor]:
        tensors, copies = _op.with_copies(spec, tensors)
        return [*saving_forward(spec, precision, tolerance, tensors), *copies]

    @_fused_saving.register_fake
    def _(spec, precision, tolerance, tensors):
        tensors, copies = _op.with_copies(spec, tensors)
        out = _op.placeholder(spec, tensors)
        return [out, out.new_empty(_saved_shape(spec, out), dtype=tensors[0].dtype), *copies]

    @torch.library.custom_op("fusetune::fused_backward", mutates_args=())
    def _fused_backward(spec: str, precision: str, tolerance: float, grad: torch.Tensor,
                        saved: torch.Tensor, tensors: List[torch.Tensor],
                        wanted: List[bool]) -> List[torch.Tensor]:
        return fused_gradients(spec, precision, tolerance, grad, saved, tensors, wanted)

    @_fused_backward.register_fake
    def _(spec, precision, tolerance, grad, saved, tensors, wanted):
        return [torch.empty_like(t) if w else t.new_empty(0) for t, w in zip(tensors, wanted)]

    def _setup_context(ctx, inputs, output):
        spec, precision, tolerance, tensors = inputs
        ctx.spec, ctx.precision, ctx.tolerance = spec, precision, tolerance
        ctx.wanted = [t.requires_grad for t in tensors]
        # The updated tensors change once run() copies back into them: keep the copies.
        ctx.save_for_backward(output[1],
                              *_op._replaced(tensors, _op.updated_indices(spec), output[2:]))

    def _backward(ctx, grads):
        saved, *tensors = ctx.saved_tensors
        results = _fused_backward(ctx.spec, ctx.precision, ctx.tolerance, grads[0], saved,
                                  tensors, ctx.wanted)
        return None, None, None, [r if w else None for r, w in zip(results, ctx.wanted)]

    _fused_saving.register_autograd(_backward, setup_context=_setup_context)

    def run(spec, precision, tolerance, tensors):
        """The output of `spec`, differentiable through the fused backward; the tensors its
        kernel updates updated in place."""
        out, _, *values = _fused_saving(spec, precision, tolerance, list(tensors))
        with torch.no_grad():
            for i, value in zip(_op.updated_indices(spec), values):
                tensors[i].copy_(value)
        return out

else:
    run = None  # PyTorch before 2.4: calls differentiate through the reference instead
