"""Conv2d(64, 128, 3) on x[128, 64, 128, 128] -> GroupNorm(8, 128) -> Tanh -> HardSwish, with a
fusetune version (the head of KernelBench level 2, 92_Conv2d_GroupNorm_Tanh_HardSwish_...).

Model is PyTorch's: a convolution (cuDNN), then GroupNorm, Tanh and HardSwish, each its own
kernel, the convolution's full-size output (1 GB) going through memory between them. ModelNew
has the same parameters (their state_dicts load either way) and runs the chain as one fusetune
plan: the convolution, then finishing kernels that compute each (sample, group)'s mean and
variance and write the normalized, activated output.

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py bench/models/conv2d_groupnorm.py
"""

import torch
import torch.nn as nn

import _steps
import fusetune.torch as ft


class Model(nn.Module):
    """conv2d -> GroupNorm -> tanh -> hardswish."""

    def __init__(self, in_channels, out_channels, kernel_size, num_groups):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.group_norm = nn.GroupNorm(num_groups, out_channels)
        self.tanh = nn.Tanh()
        self.hardswish = nn.Hardswish()

    def forward(self, x):
        return self.hardswish(self.tanh(self.group_norm(self.conv(x))))


class ModelNew(Model):
    """Model as one fusetune call: conv2d -> bias -> group_norm(groups, eps, affine) -> tanh ->
    hardswish, the norm's weight and bias as operands. Model's constructor, so the same
    arguments, parameters and state_dict."""

    def __init__(self, *args):
        super().__init__(*args)
        self.epilogue = f"{_steps.group_norm(self.group_norm)} -> tanh -> hardswish"

    def forward(self, x):
        conv = self.conv
        return ft.conv2d(x, conv.weight, conv.bias, stride=conv.stride, padding=conv.padding,
                         dilation=conv.dilation, groups=conv.groups, epilogue=self.epilogue,
                         operands=_steps.norm_operands(self.group_norm))


batch_size = 128
in_channels = 64
out_channels = 128
height = width = 128
kernel_size = 3
num_groups = 8
# Small sizes for check_on_cpu.py, which checks ModelNew's spec against Model on CPU.
TINY = dict(batch_size=2, in_channels=3, out_channels=16, height=9, width=7)


def get_inputs():
    return [torch.rand(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, num_groups]
