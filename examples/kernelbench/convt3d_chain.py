"""KernelBench level 2, 74_ConvTranspose3d_LeakyReLU_Multiply_LeakyReLU_Max, with a fusetune
version.

Model is PyTorch's: a 3-D transposed convolution (cuDNN), then LeakyReLU, a per-channel
multiplication, LeakyReLU again and a 2x2x2 max pool, each its own kernel, the convolution's
full-size output going through memory between them. ModelNew has the same parameters (their
state_dicts load either way) and computes the whole chain in one fusetune kernel, which pools
before it writes: only the pooled output reaches memory.

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py examples/kernelbench/convt3d_chain.py
"""

import torch
import torch.nn as nn

import fusetune.torch as ft


class Model(nn.Module):
    """conv_transpose3d -> leaky_relu -> x * multiplier (per channel) -> leaky_relu -> max_pool."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                 multiplier_shape):
        super().__init__()
        self.conv_transpose = nn.ConvTranspose3d(in_channels, out_channels, kernel_size,
                                                 stride=stride, padding=padding,
                                                 output_padding=output_padding)
        self.multiplier = nn.Parameter(torch.randn(multiplier_shape))
        self.leaky_relu = nn.LeakyReLU(negative_slope=0.2)
        self.max_pool = nn.MaxPool3d(kernel_size=2)

    def forward(self, x):
        x = self.conv_transpose(x)
        x = self.leaky_relu(x)
        x = x * self.multiplier
        x = self.leaky_relu(x)
        x = self.max_pool(x)
        return x


def window(value):
    """fusetune's spelling of a pooling window: 2 where every dimension agrees, else (1, 2, 2)."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return str(values[0]) if len(set(values)) == 1 else str(values)


def max_pool_step(pool):
    """The epilogue step for nn.MaxPool3d: max_pool3d(2), with stride and padding where they are
    not the defaults (stride = kernel, no padding)."""
    if pool.dilation not in (1, (1, 1, 1)) or pool.ceil_mode or pool.return_indices:
        raise ValueError("fusetune's max_pool3d has no dilation, ceil_mode or return_indices")
    kernel, stride, padding = window(pool.kernel_size), window(pool.stride), window(pool.padding)
    if stride == kernel and padding == "0" and not kernel.startswith("("):
        return f"max_pool3d({kernel})"
    return f"max_pool3d(kernel={kernel}, stride={stride}, padding={padding})"


class ModelNew(Model):
    """Model as one fused kernel: conv_transpose3d -> bias -> leaky_relu -> mul(channel) ->
    leaky_relu -> max_pool3d, the multiplier passed as the mul step's operand. Model's
    constructor, so the same arguments, parameters and state_dict."""

    def __init__(self, *args):
        super().__init__(*args)
        # Spelled once here, so that torch.compile traces forward without string work on tuples.
        self.pool_step = max_pool_step(self.max_pool)

    def forward(self, x):
        conv = self.conv_transpose
        slope = self.leaky_relu.negative_slope
        epilogue = f"leaky_relu({slope}) -> mul(channel) -> leaky_relu({slope}) -> {self.pool_step}"
        return ft.conv_transpose3d(x, conv.weight, conv.bias, stride=conv.stride,
                                   padding=conv.padding, output_padding=conv.output_padding,
                                   groups=conv.groups, dilation=conv.dilation,
                                   epilogue=epilogue, operands=[self.multiplier])


batch_size = 16
in_channels = 16
out_channels = 32
depth, height, width = 16, 32, 32
kernel_size = 3
stride = 2
padding = 1
output_padding = 1
multiplier_shape = (out_channels, 1, 1, 1)


def get_inputs():
    return [torch.randn(batch_size, in_channels, depth, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, stride, padding, output_padding,
            multiplier_shape]
