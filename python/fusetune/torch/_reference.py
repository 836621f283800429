"""A spec computed with PyTorch's own ops, from its description: the backward pass
differentiates it (the fused kernels have no backward of their own yet), and tests compare the
fused kernels with it. It shares nothing with the CUDA templates."""

import torch
import torch.nn.functional as F

_CONVOLUTIONS = {
    "conv2d": F.conv2d, "conv3d": F.conv3d,
    "conv_transpose2d": F.conv_transpose2d, "conv_transpose3d": F.conv_transpose3d,
}

_UNARY = {
    "relu": lambda x, p, mode: F.relu(x),
    "leaky_relu": lambda x, p, mode: F.leaky_relu(x, p[0]),
    "gelu": lambda x, p, mode: F.gelu(x, approximate="tanh" if mode == "tanh" else "none"),
    "silu": lambda x, p, mode: F.silu(x),
    "sigmoid": lambda x, p, mode: torch.sigmoid(x),
    "tanh": lambda x, p, mode: torch.tanh(x),
    "hardtanh": lambda x, p, mode: F.hardtanh(x, p[0], p[1]),
    "clamp": lambda x, p, mode: torch.clamp(x, p[0], p[1]),
    "hardswish": lambda x, p, mode: F.hardswish(x),
    "mish": lambda x, p, mode: F.mish(x),
    "softplus": lambda x, p, mode: F.softplus(x, beta=p[0], threshold=p[1]),
}


def _minimum(x, y):
    return torch.clamp(x, max=y) if not isinstance(y, torch.Tensor) else torch.minimum(x, y)


def _maximum(x, y):
    return torch.clamp(x, min=y) if not isinstance(y, torch.Tensor) else torch.maximum(x, y)


_BINARY = {
    "bias": torch.add, "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
    "min": _minimum, "max": _maximum,
}


def _spatial(values, dims):
    return tuple(values[3 - dims:])


def _main(main, a, b):
    op = main["op"]
    if op == "linear":
        return F.linear(a, b)
    if op == "matmul":
        return (a.t() if main["transpose_a"] else a) @ (b.t() if main["transpose_b"] else b)
    dims = main["spatial_dims"]
    arg = {name: _spatial(main[name], dims) for name in ("stride", "padding", "dilation")}
    if op.startswith("conv_transpose"):
        return _CONVOLUTIONS[op](a, b, None, arg["stride"], arg["padding"],
                                 _spatial(main["output_padding"], dims), main["groups"],
                                 arg["dilation"])
    return _CONVOLUTIONS[op](a, b, None, arg["stride"], arg["padding"], arg["dilation"],
                             main["groups"])


def _broadcast(operand, tensor, value):
    """A vector operand shaped to broadcast against `value` as the spec means it."""
    if operand == "row":
        return tensor.reshape(-1, 1)
    if operand == "channel":
        return tensor.reshape(-1, *([1] * (value.dim() - 2)))
    return tensor  # column: along the last dimension already; tensor: the value's own shape


def _elementwise(entry, value, operands, main):
    name, operand = entry["op"], entry["operand"]
    if name in _UNARY:
        return _UNARY[name](value, entry["scalars"], entry["mode"])
    if operand == "scalar":
        other = entry["scalars"][0]
    elif operand == "main":
        other = main
    else:
        other = _broadcast(operand, operands[0], value)
    return _BINARY[name](value, other)


def _pool(entry, value, operands, main):
    dims = value.dim() - 2
    if entry["pool"] == "global_avg":
        return value.mean(dim=tuple(range(2, value.dim())), keepdim=True)
    kernel, stride, padding = (_spatial(entry[k], dims) for k in ("kernel", "stride", "padding"))
    if entry["pool"] == "max":
        return (F.max_pool2d if dims == 2 else F.max_pool3d)(value, kernel, stride, padding)
    return (F.avg_pool2d if dims == 2 else F.avg_pool3d)(value, kernel, stride, padding,
                                                          count_include_pad=True)


def _rms_norm(x, normalized_shape, weight, eps):
    if hasattr(F, "rms_norm"):  # PyTorch 2.4 and later
        return F.rms_norm(x, normalized_shape, weight, eps)
    trailing = tuple(range(x.dim() - len(normalized_shape), x.dim()))
    y = x * torch.rsqrt(x.square().mean(dim=trailing, keepdim=True) + eps)
    return y if weight is None else y * weight


def _batch_norm(x, entry, running, weight, bias):
    eps, momentum = entry["scalars"]
    # Training mode updates the running statistics in place, as the fused kernel does.
    return F.batch_norm(x, running[0], running[1], weight, bias, training=entry["training"],
                        momentum=momentum, eps=eps)


def _reduction(entry, value, operands, main):
    name, dims = entry["op"], tuple(entry["dims"])
    if name in ("sum", "mean", "amax", "amin", "logsumexp"):
        return getattr(torch, name)(value, dim=dims, keepdim=entry["keepdim"])
    if name == "softmax":
        return torch.softmax(value, dim=dims[0])
    if name == "log_softmax":
        return torch.log_softmax(value, dim=dims[0])
    # Normalizations' operands, as generator/chain_ir.cc lists them: batch_norm's running mean
    # and variance (when it tracks them), then the weight and the bias (when affine).
    rest = iter(operands)
    running = (next(rest), next(rest)) if entry["track_running_stats"] else (None, None)
    weight, bias = next(rest, None), next(rest, None)
    eps = entry["scalars"][0]
    if name == "layer_norm":
        return F.layer_norm(value, entry["normalized_shape"], weight, bias, eps)
    if name == "rms_norm":
        return _rms_norm(value, entry["normalized_shape"], weight, eps)
    if name == "group_norm":
        return F.group_norm(value, entry["groups"], weight, bias, eps)
    if name == "instance_norm":
        return F.instance_norm(value, weight=weight, bias=bias, eps=eps)
    if name == "batch_norm":
        return _batch_norm(value, entry, running, weight, bias)
    raise NotImplementedError(f"fusetune.torch has no reference for the reduction {name!r}")


_STEPS = {"elementwise": _elementwise, "pool": _pool, "reduction": _reduction}


def evaluate(description, tensors, write_saved=True):
    """What the spec of `description` computes on `tensors` (in its launch order), with PyTorch
    ops in the tensors' dtype. Like the fused kernel, it updates the tensors the description
    marks `updated` in place: batch_norm's running statistics in training mode, and (unless
    `write_saved` is false, as while differentiating) the tensors `save` writes."""
    value = _main(description.main, tensors[0], tensors[1])
    main = value  # the "main" operand: the layer's output, with its bias when it starts with one
    for i, entry in enumerate(description.chain):
        operands = [tensors[t] for t in entry["tensors"]]
        if entry["kind"] == "elementwise" and entry["op"] == "save":
            if write_saved:
                with torch.no_grad():
                    operands[0].copy_(value)
        else:
            value = _STEPS[entry["kind"]](entry, value, operands, main)
        if i + 1 == description.main_value_stages:
            main = value
    return value
