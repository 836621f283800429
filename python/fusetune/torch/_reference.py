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


def _pool(pool, value):
    dims = value.dim() - 2
    if pool["kind"] == "global_avg":
        return value.mean(dim=tuple(range(2, value.dim())), keepdim=True)
    kernel, stride, padding = (_spatial(pool[k], dims) for k in ("kernel", "stride", "padding"))
    if pool["kind"] == "max":
        return (F.max_pool2d if dims == 2 else F.max_pool3d)(value, kernel, stride, padding)
    return (F.avg_pool2d if dims == 2 else F.avg_pool3d)(value, kernel, stride, padding,
                                                          count_include_pad=True)


def evaluate(description, tensors):
    """What the spec of `description` computes on `tensors` (in its launch order), with PyTorch
    ops in the tensors' dtype."""
    operands = iter(tensors[2:])
    value = _main(description.main, tensors[0], tensors[1])
    layer = value  # the "main" operand: the layer's output, with its bias when it starts with one
    pool = description.pool
    for i, op in enumerate(description.epilogue):
        if pool is not None and pool["position"] == i:
            value = _pool(pool, value)
        name, operand = op["op"], op["operand"]
        if name in _UNARY:
            value = _UNARY[name](value, op["scalars"], op["mode"])
            continue
        if operand == "scalar":
            other = op["scalars"][0]
        elif operand == "main":
            other = layer
        else:
            other = _broadcast(operand, next(operands), value)
        value = _BINARY[name](value, other)
        if name == "bias" and i == 0:
            layer = value
    if pool is not None and pool["position"] == len(description.epilogue):
        value = _pool(pool, value)
    return value
