"""KernelBench level 2, 17_Conv2d_InstanceNorm_Divide, at Conv2d(64, 128, 3) on
x[128, 64, 128, 128], with a fusetune version.

Model is PyTorch's: a convolution (cuDNN), InstanceNorm2d and a division by a constant, each its
own kernel, the convolution's full-size output (1 GB) going through memory between them.
ModelNew has the same parameters (their state_dicts load either way) and runs the chain as one
fusetune plan: the convolution, then finishing kernels that compute each (sample, channel)'s
mean and variance over its positions and write the normalized, divided output.

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py bench/models/conv2d_instancenorm_div.py
"""

import torch
import torch.nn as nn

import _steps
import fusetune.torch as ft


class Model(nn.Module):
    """conv2d -> InstanceNorm2d -> x / divide_by."""

    def __init__(self, in_channels, out_channels, kernel_size, divide_by):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.instance_norm = nn.InstanceNorm2d(out_channels)
        self.divide_by = divide_by

    def forward(self, x):
        return self.instance_norm(self.conv(x)) / self.divide_by


class ModelNew(Model):
    """Model as one fusetune call: conv2d -> bias -> instance_norm(eps, affine) ->
    div(divide_by), the norm's weight and bias as operands when it is affine. Model's
    constructor, so the same arguments, parameters and state_dict."""

    def __init__(self, *args):
        super().__init__(*args)
        self.epilogue = f"{_steps.instance_norm(self.instance_norm)} -> div({self.divide_by})"

    def forward(self, x):
        conv = self.conv
        return ft.conv2d(x, conv.weight, conv.bias, stride=conv.stride, padding=conv.padding,
                         dilation=conv.dilation, groups=conv.groups, epilogue=self.epilogue,
                         operands=_steps.norm_operands(self.instance_norm))


batch_size = 128
in_channels = 64
out_channels = 128
height = width = 128
kernel_size = 3
divide_by = 2.0
# Small sizes for check_on_cpu.py, which checks ModelNew's spec against Model on CPU.
TINY = dict(batch_size=2, in_channels=3, out_channels=5, height=9, width=7)


def get_inputs():
    return [torch.rand(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, divide_by]
