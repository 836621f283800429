"""The one custom op every fusetune.torch call goes through, fusetune::fused(spec, precision,
tolerance, tensors): checks the tensors, launches the tuned kernel on the current stream, and
differentiates through the spec's PyTorch reference. Registered with torch.library (PyTorch 2.4
and later) so that torch.compile traces it without a graph break; older PyTorch gets a plain
autograd.Function."""

import threading
from typing import List

import torch

from fusetune._library import describe, shared_library
from fusetune.torch import _reference
from fusetune.torch._checks import DTYPES, check_tensors

_kernels = {}
_kernels_lock = threading.Lock()


def forget_kernels():
    """Drops the loaded kernels, so that the next launch loads what tuning stored since."""
    with _kernels_lock:
        _kernels.clear()


def _kernel(device, spec, precision, tolerance):
    key = (device, spec, precision, tolerance)
    kernel = _kernels.get(key)
    if kernel is None:
        kernel = shared_library(device).load(spec, precision or None, tolerance or None)
        with _kernels_lock:
            _kernels[key] = kernel
    return kernel


def _empty_output(description, like):
    return torch.empty(description.output_shape, dtype=DTYPES[description.output_dtype],
                       device=like.device)


_compiling = getattr(getattr(torch, "compiler", None), "is_compiling", lambda: False)
_PLAIN = (torch.Tensor, torch.nn.Parameter)


def plain_eager_call(tensors):
    """Whether the op's machinery has nothing to add to this call: no graph is being traced,
    nothing needs a gradient, and every tensor is a plain one (not a fake or other subclass).
    Such calls launch directly, sparing the dispatcher's tens of microseconds."""
    if _compiling():
        return False
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return False
    return all(type(t) in _PLAIN for t in tensors)


def placeholder(spec, tensors):
    """What launch() returns, checked the same way but uninitialised: nothing runs."""
    description = describe(spec)
    check_tensors(description, tensors)
    return _empty_output(description, tensors[0])


def launch(spec, precision, tolerance, tensors):
    """Runs `spec` on `tensors` now and returns its new output tensor."""
    description = describe(spec)
    check_tensors(description, tensors)
    out = _empty_output(description, tensors[0])
    device = tensors[0].device.index if tensors[0].device.index is not None else 0
    stream = torch.cuda.current_stream(tensors[0].device).cuda_stream
    _kernel(device, spec, precision, tolerance).launch(
        stream, [t.data_ptr() for t in tensors], out.data_ptr())
    return out


def gradients(spec, tensors, wanted, grad):
    """The gradients of `spec`'s output with respect to the tensors flagged in `wanted` (None
    for the others), from PyTorch's own ops on the spec's reference."""
    description = describe(spec)
    chosen = [t for t, w in zip(tensors, wanted) if w]

    def output(*variables):
        it = iter(variables)
        return _reference.evaluate(description, [next(it) if w else t.detach()
                                                 for t, w in zip(tensors, wanted)])

    if hasattr(torch, "func"):
        _, vjp = torch.func.vjp(output, *chosen)
        computed = iter(vjp(grad))
    else:
        with torch.enable_grad():
            leaves = [t.detach().requires_grad_() for t in chosen]
            computed = iter(torch.autograd.grad(output(*leaves), leaves, grad))
    return [next(computed) if w else None for w in wanted]


if hasattr(torch.library, "custom_op") and hasattr(torch.library, "register_autograd"):

    @torch.library.custom_op("fusetune::fused", mutates_args=())
    def _fused(spec: str, precision: str, tolerance: float,
               tensors: List[torch.Tensor]) -> torch.Tensor:
        return launch(spec, precision, tolerance, tensors)

    @_fused.register_fake
    def _(spec, precision, tolerance, tensors):
        return placeholder(spec, tensors)

    def _setup_context(ctx, inputs, output):
        spec, _, _, tensors = inputs
        ctx.spec = spec
        ctx.wanted = [t.requires_grad for t in tensors]
        ctx.save_for_backward(*tensors)

    def _backward(ctx, grad):
        return None, None, None, gradients(ctx.spec, ctx.saved_tensors, ctx.wanted, grad)

    _fused.register_autograd(_backward, setup_context=_setup_context)

    def run(spec, precision, tolerance, tensors):
        return _fused(spec, precision, tolerance, list(tensors))

else:

    class _Fused(torch.autograd.Function):
        @staticmethod
        def forward(ctx, spec, precision, tolerance, *tensors):
            ctx.spec = spec
            ctx.save_for_backward(*tensors)
            return launch(spec, precision, tolerance, list(tensors))

        @staticmethod
        def backward(ctx, grad):
            wanted = ctx.needs_input_grad[3:]
            return (None, None, None, *gradients(ctx.spec, ctx.saved_tensors, wanted, grad))

    def run(spec, precision, tolerance, tensors):
        return _Fused.apply(spec, precision, tolerance, *tensors)
