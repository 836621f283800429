"""fusetune's spelling of torch.nn modules as epilogue steps, read off each module's own settings
(eps, momentum, affine, groups, windows, slopes), and the tensors a normalization step takes, in
the order fusetune.describe(spec).tensors lists them: batch_norm's running mean and variance
(when it tracks them), then the weight and the bias (when affine).

The ModelNew classes of bench/models spell their chains with these once, in __init__ (the
settings are the constructor's), and gather the operands in forward (model.cuda() replaces
buffers, so a tensor kept from __init__ would be the CPU one). A module setting that fusetune
cannot express raises ValueError when ModelNew is built, not a wrong answer later.
"""

import torch.nn as nn


def flag(value):
    """A spec's boolean: true or false."""
    return "true" if value else "false"


def extents(values):
    """2 for one value or several that agree, else (1, 2, 2): fusetune's spelling of a pooling
    window, stride or padding, one number where every dimension agrees."""
    values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
    if len(set(values)) == 1:
        return str(values[0])
    return "(" + ", ".join(str(v) for v in values) + ")"


# --- Normalizations ------------------------------------------------------------------------------


def layer_norm(norm: nn.LayerNorm) -> str:
    """layer_norm(normalized_shape=8192, eps=1e-05, affine=true); fusetune's affine layer_norm
    has both a weight and a bias, so nn.LayerNorm(bias=False) is refused."""
    affine = norm.elementwise_affine
    if affine and norm.bias is None:
        raise ValueError("fusetune's layer_norm has a weight and a bias or neither; "
                         "nn.LayerNorm(bias=False) is not supported")
    shape = tuple(norm.normalized_shape)  # every extent written: (8, 8) is not 8
    shape_text = str(shape[0]) if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    return f"layer_norm(normalized_shape={shape_text}, eps={norm.eps}, affine={flag(affine)})"


def group_norm(norm: nn.GroupNorm) -> str:
    """group_norm(groups=8, eps=1e-05, affine=true)."""
    return f"group_norm(groups={norm.num_groups}, eps={norm.eps}, affine={flag(norm.affine)})"


def instance_norm(norm: nn.modules.instancenorm._InstanceNorm) -> str:
    """instance_norm(eps=1e-05, affine=false). fusetune's instance_norm always uses each
    instance's own statistics, so track_running_stats=True (which eval mode would read) is
    refused."""
    if norm.track_running_stats:
        raise ValueError("fusetune's instance_norm keeps no running statistics; "
                         "track_running_stats=True is not supported")
    return f"instance_norm(eps={norm.eps}, affine={flag(norm.affine)})"


def batch_norm(norm: nn.modules.batchnorm._BatchNorm, training: bool) -> str:
    """batch_norm(...) as `norm` computes in training mode (`training`: the batch's statistics,
    updating the running ones) or in eval mode (the running statistics, where it tracks them,
    else the batch's, as nn.BatchNorm does)."""
    if norm.momentum is None:
        raise ValueError("fusetune's batch_norm updates its running statistics by momentum; "
                         "momentum=None (a cumulative average) is not supported")
    uses_batch = training or not norm.track_running_stats
    return (f"batch_norm(eps={norm.eps}, momentum={norm.momentum}, "
            f"training={flag(uses_batch)}, affine={flag(norm.affine)}, "
            f"track_running_stats={flag(norm.track_running_stats)})")


def batch_norm_by_mode(norm: nn.modules.batchnorm._BatchNorm, rest: str = "") -> dict:
    """{training: epilogue} for both modes: batch_norm(...) followed by `rest` (" -> ..."), so
    that forward picks one by self.training without writing text."""
    return {training: batch_norm(norm, training) + rest for training in (False, True)}


def norm_operands(norm: nn.Module) -> list:
    """The tensors of a normalization step, in describe()'s order: running mean and variance
    (batch_norm tracking them), then weight and bias (when affine)."""
    operands = []
    if isinstance(norm, nn.modules.batchnorm._BatchNorm) and norm.track_running_stats:
        operands += [norm.running_mean, norm.running_var]
    if getattr(norm, "affine", getattr(norm, "elementwise_affine", False)):
        operands += [norm.weight, norm.bias]
    return operands


def count_batch(norm: nn.modules.batchnorm._BatchNorm) -> None:
    """Counts a batch in num_batches_tracked, as nn.BatchNorm's forward does in training mode
    (the fused kernel updates the running statistics, not the count)."""
    if norm.training and norm.track_running_stats:
        norm.num_batches_tracked.add_(1)


# --- Pools and elementwise modules ---------------------------------------------------------------


def max_pool(pool: nn.Module) -> str:
    """max_pool2d(2) / max_pool3d(2) for nn.MaxPool2d/3d, with stride and padding where they are
    not the defaults (stride = kernel, no padding)."""
    dims = {nn.MaxPool2d: 2, nn.MaxPool3d: 3}.get(type(pool))
    if dims is None:
        raise ValueError(f"max_pool takes nn.MaxPool2d or nn.MaxPool3d, not {type(pool).__name__}")
    if extents(pool.dilation) != "1" or pool.ceil_mode or pool.return_indices:
        raise ValueError("fusetune's max pools have no dilation, ceil_mode or return_indices")
    stride = pool.stride if pool.stride is not None else pool.kernel_size
    kernel, stride, padding = extents(pool.kernel_size), extents(stride), extents(pool.padding)
    if stride == kernel and padding == "0":
        return f"max_pool{dims}d({kernel})"
    return f"max_pool{dims}d(kernel={kernel}, stride={stride}, padding={padding})"


def hardtanh(module: nn.Hardtanh) -> str:
    return f"hardtanh({float(module.min_val)}, {float(module.max_val)})"


def leaky_relu(module: nn.LeakyReLU) -> str:
    return f"leaky_relu({float(module.negative_slope)})"


def gelu(module: nn.GELU) -> str:
    """gelu (erf, PyTorch's default) or gelu(approximate=tanh)."""
    return "gelu" if module.approximate == "none" else f"gelu(approximate={module.approximate})"
