"""Checks of the tensors a fused kernel is given, with messages that name the argument and say
how to fix it. They run before every launch, and on fake tensors while torch.compile traces."""

import torch

from fusetune._errors import InvalidArgument

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def _invalid(message):
    return InvalidArgument(message, "invalid_argument")


def _is_fake(tensor):
    # Fake and meta tensors (torch.compile tracing) have shapes but no memory to align.
    return tensor.device.type == "meta" or type(tensor).__name__ == "FakeTensor"


def check_tensors(description, tensors, labels=None):
    """Raises InvalidArgument unless `tensors` are what `description` (a fusetune.Description)
    reads: as many, torch tensors on one CUDA device, of its dtype and shape, contiguous and
    16-byte aligned. `labels` name the tensors as the caller knows them; default: the spec's
    names ("x", "weight", "mul_channel")."""
    expected = description.tensors
    labels = labels or [info.name for info in expected]
    if len(tensors) != len(expected):
        names = ", ".join(info.name for info in expected)
        raise _invalid(f"{description.canonical} takes {len(expected)} tensors ({names}), "
                       f"got {len(tensors)}")
    first = None
    for info, tensor, label in zip(expected, tensors, labels):
        if not isinstance(tensor, torch.Tensor):
            raise _invalid(f"{label} must be a torch.Tensor, not {type(tensor).__name__}")
        if tensor.device.type not in ("cuda", "meta") and not _is_fake(tensor):
            raise _invalid(f"{label} is on {tensor.device}; fusetune kernels run on CUDA "
                           f"tensors: move it with {label}.cuda() (a module's parameters with "
                           "model.cuda())")
        if first is None:
            first = (label, tensor.device)
        elif tensor.device != first[1]:
            raise _invalid(f"{label} is on {tensor.device} but {first[0]} is on {first[1]}: "
                           "put every tensor on the same GPU")
        want = DTYPES[info.dtype]
        if tensor.dtype != want:
            raise _invalid(f"{label} is {tensor.dtype}, the spec reads {want}: convert it with "
                           f"{label}.to({want}) (fusetune kernels read float32, bfloat16 or "
                           "float16, every tensor of a call the same)")
        if tuple(tensor.shape) != info.shape:
            raise _invalid(f"{label} has shape {tuple(tensor.shape)}, the spec needs "
                           f"{info.shape}")
        if not tensor.is_contiguous():
            raise _invalid(f"{label} is not contiguous (strides {tensor.stride()}); fusetune "
                           f"kernels read row-major tensors: pass {label}.contiguous()")
        if not _is_fake(tensor) and tensor.data_ptr() % 16:
            raise _invalid(f"{label} starts at an address that is not 16-byte aligned (a view "
                           f"at an offset?); fusetune kernels need aligned tensors: pass "
                           f"{label}.clone()")


def check_main_operands(op, x, weight, x_dims):
    """The checks a caller's x and weight need before their shapes can be read into a spec:
    tensors, of an accepted rank. `x_dims` is the rank x must have (None: at least 1)."""
    for label, tensor in (("x", x), ("weight", weight)):
        if not isinstance(tensor, torch.Tensor):
            raise _invalid(f"{op}: {label} must be a torch.Tensor, not {type(tensor).__name__}")
    if x_dims is None and x.dim() < 1:
        raise _invalid(f"{op}: x must have at least 1 dimension, got a 0-d tensor")
    if x_dims is not None and x.dim() != x_dims:
        raise _invalid(f"{op}: x must have {x_dims} dimensions (N, C, ...), got shape "
                       f"{tuple(x.shape)}")
    want_weight = 2 if x_dims is None else x_dims
    if weight.dim() != want_weight:
        raise _invalid(f"{op}: weight must have {want_weight} dimensions, got shape "
                       f"{tuple(weight.shape)}")
