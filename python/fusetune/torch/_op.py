"""The custom op every fusetune.torch call goes through, fusetune::fused(spec, precision,
tolerance, tensors): checks the tensors, launches the tuned kernel on the current stream, and
differentiates through the spec's PyTorch reference. Registered with torch.library (PyTorch 2.4
and later) so that torch.compile traces it without a graph break; older PyTorch gets a plain
autograd.Function.

A kernel that also writes some of its tensors in place (batch_norm's running statistics in
training mode; TensorInfo.updated) goes through fusetune::fused_updating instead, which runs on
copies of those tensors and returns them after the output; the call then copies them back.
PyTorch refuses autograd formulas for ops declared to mutate their inputs, and this is the form
its own functionalization gives batch_norm, so torch.compile sees every write."""

import dataclasses
import os
import threading
from typing import List

import torch

from fusetune._library import TensorInfo, describe, shared_library
from fusetune.torch import _reference, _specs
from fusetune.torch._checks import DTYPES, check_tensors

_kernels = {}
_kernels_lock = threading.Lock()


def forget_kernels():
    """Drops the loaded kernels, so that the next launch loads what tuning stored since."""
    with _kernels_lock:
        _kernels.clear()
        _weights_seen.clear()


# Whether calls take their weight (tensors[1]) as unchanged while its address and PyTorch's
# version counter are: set_constant_weights().
constant_weights = os.environ.get("FUSETUNE_CONSTANT_WEIGHTS", "") == "1"
_weights_seen = {}  # (kernel, stream) -> (address, version) of the weight last launched


def _unchanged(kernel, stream, tensors):
    """The tensors a launch may say are unchanged: the weight, where constant_weights is set and
    this kernel last ran on `stream` with the same weight at the same version."""
    if not constant_weights or len(tensors) < 2:
        return None
    weight = tensors[1]
    try:
        seen = (weight.data_ptr(), weight._version)
    except RuntimeError:  # an inference-mode tensor counts no versions: never taken as unchanged
        return None
    key = (id(kernel), stream)
    with _kernels_lock:
        before = _weights_seen.get(key)
        _weights_seen[key] = seen
    return [1] if before == seen else None


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


# Whether torch.compile is tracing the caller.
compiling = getattr(getattr(torch, "compiler", None), "is_compiling", lambda: False)
_PLAIN = (torch.Tensor, torch.nn.Parameter)


def needs_gradients(tensors):
    """Whether autograd records this call: some tensor requires a gradient, with grad mode on."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def plain_eager_call(tensors):
    """Whether the op's machinery has nothing to add to this call: no graph is being traced,
    nothing needs a gradient, and every tensor is a plain one (not a fake or other subclass).
    Such calls launch directly, sparing the dispatcher's tens of microseconds."""
    if compiling():
        return False
    if needs_gradients(tensors):
        return False
    return all(type(t) in _PLAIN for t in tensors)


def _symbolic_rows(spec, rows):
    """The description of a spec written with ROWS for `rows`, a symbol of torch.compile: its
    shapes with `rows` where they follow the rows (the dims that differ between the spec at 2
    and at 3 rows), so that neither the checks nor the output fix the batch size."""
    two, three = describe(_specs.at_rows(spec, 2)), describe(_specs.at_rows(spec, 3))

    def shape(a, b):
        return tuple(rows if x != y else x for x, y in zip(a, b))

    return dataclasses.replace(
        two,
        tensors=tuple(TensorInfo(t.name, shape(t.shape, u.shape), t.dtype, t.updated)
                      for t, u in zip(two.tensors, three.tensors)),
        output_shape=shape(two.output_shape, three.output_shape))


def _described(spec, tensors):
    """The description of `spec` as `tensors` call it: a spec written with ROWS takes the rows
    of x (tensors[0]), concrete or symbolic."""
    if _specs.ROWS not in spec:
        return describe(spec)
    rows = tensors[0].shape[0]
    return describe(_specs.at_rows(spec, rows)) if isinstance(rows, int) else \
        _symbolic_rows(spec, rows)


def placeholder(spec, tensors):
    """What launch() returns, checked the same way but uninitialised: nothing runs."""
    description = _described(spec, tensors)
    check_tensors(description, tensors)
    return _empty_output(description, tensors[0])


def launch(spec, precision, tolerance, tensors):
    """Runs `spec` on `tensors` now and returns its new output tensor."""
    spec = _specs.at_rows(spec, tensors[0].shape[0])
    description = describe(spec)
    check_tensors(description, tensors)
    out = _empty_output(description, tensors[0])
    device = tensors[0].device.index if tensors[0].device.index is not None else 0
    stream = torch.cuda.current_stream(tensors[0].device).cuda_stream
    kernel = _kernel(device, spec, precision, tolerance)
    kernel.launch(stream, [t.data_ptr() for t in tensors], out.data_ptr(),
                  unchanged=_unchanged(kernel, stream, tensors))
    return out


def _constant_while_compiling(function):
    """`function` of a spec's text, which reads its description through the C library:
    torch.compile calls it while tracing instead of tracing into it."""
    mark = getattr(getattr(torch, "compiler", None), "assume_constant_result", None)
    return mark(function) if mark is not None else function


@_constant_while_compiling
def updated_indices(spec):
    """Where the tensors `spec`'s kernel also writes are among its tensors: a tuple of ints
    (the same at any rows of a spec written with ROWS)."""
    return tuple(i for i, info in enumerate(describe(_specs.at_rows(spec, 2)).tensors)
                 if info.updated)


@_constant_while_compiling
def keeps_rows(spec):
    """Whether the output of a GEMM spec still has the main op's rows first: no reduction
    combined them (a softmax over dim 0 keeps them as rows)."""
    return all(0 not in e["dims"] or e["in_shape"] == e["out_shape"]
               for e in describe(_specs.at_rows(spec, 2)).chain if e["kind"] == "reduction")


def _replaced(tensors, indices, values):
    tensors = list(tensors)
    for i, value in zip(indices, values):
        tensors[i] = value
    return tensors


def gradients(spec, tensors, wanted, grad):
    """The gradients of `spec`'s output with respect to the tensors flagged in `wanted` (None
    for the others), from PyTorch's own ops on the spec's reference."""
    description = _described(spec, tensors)
    # The reference updates running statistics as the forward kernel did: on copies, so that
    # they are updated once.
    indices = updated_indices(spec)
    tensors = _replaced(tensors, indices, [tensors[i].detach().clone() for i in indices])
    chosen = [t for t, w in zip(tensors, wanted) if w]

    def output(*variables):
        it = iter(variables)
        return _reference.evaluate(description, [next(it) if w else t.detach()
                                                 for t, w in zip(tensors, wanted)],
                                   write_saved=False)

    if hasattr(torch, "func"):
        _, vjp = torch.func.vjp(output, *chosen)
        computed = iter(vjp(grad))
    else:
        with torch.enable_grad():
            leaves = [t.detach().requires_grad_() for t in chosen]
            computed = iter(torch.autograd.grad(output(*leaves), leaves, grad))
    return [next(computed) if w else None for w in wanted]


def with_copies(spec, tensors):
    """`tensors` with copies in place of those the kernel updates, and the copies: a custom op
    updates those and returns them, declaring no mutation, and its caller copies them back."""
    indices = updated_indices(spec)
    copies = [tensors[i].clone() for i in indices]
    return _replaced(tensors, indices, copies), copies


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

    @torch.library.custom_op("fusetune::fused_updating", mutates_args=())
    def _fused_updating(spec: str, precision: str, tolerance: float,
                        tensors: List[torch.Tensor]) -> List[torch.Tensor]:
        tensors, copies = with_copies(spec, tensors)
        return [launch(spec, precision, tolerance, tensors), *copies]

    @_fused_updating.register_fake
    def _(spec, precision, tolerance, tensors):
        tensors, copies = with_copies(spec, tensors)
        return [placeholder(spec, tensors), *copies]

    def _setup_updating_context(ctx, inputs, output):
        spec, _, _, tensors = inputs
        ctx.spec = spec
        ctx.wanted = [t.requires_grad for t in tensors]
        # The updated tensors change once the call copies back into them: keep the copies.
        ctx.save_for_backward(*_replaced(tensors, updated_indices(spec), output[1:]))

    def _updating_backward(ctx, grads):
        return None, None, None, gradients(ctx.spec, ctx.saved_tensors, ctx.wanted, grads[0])

    _fused_updating.register_autograd(_updating_backward, setup_context=_setup_updating_context)

    def run(spec, precision, tolerance, tensors):
        indices = updated_indices(spec)
        if not indices:
            return _fused(spec, precision, tolerance, list(tensors))
        out, *values = _fused_updating(spec, precision, tolerance, list(tensors))
        with torch.no_grad():
            for i, value in zip(indices, values):
                tensors[i].copy_(value)
        return out

else:

    class _Fused(torch.autograd.Function):
        """Here the kernel updates running statistics in place after they were saved: no
        harm, since batch_norm's output does not depend on them in training mode."""

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
