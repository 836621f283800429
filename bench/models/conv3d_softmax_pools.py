"""KernelBench level 2, 6_Conv3d_Softmax_MaxPool_MaxPool, with a fusetune version.

Model is PyTorch's: a 3-D convolution (cuDNN), a softmax over the channels and two 2x2x2 max
pools, each its own kernel. ModelNew has the same parameters (their state_dicts load either way)
and runs the chain as one fusetune plan: the convolution, a finishing kernel for each position's
max and sum of exponentials over the channels, and one that normalizes and pools twice, so that
only the [128, 16, 3, 7, 7] result of the pools is written at the end.

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py bench/models/conv3d_softmax_pools.py
"""

import torch
import torch.nn as nn

import _steps
import fusetune.torch as ft


class Model(nn.Module):
    """conv3d -> softmax over the channels -> max_pool3d -> max_pool3d."""

    def __init__(self, in_channels, out_channels, kernel_size, pool_kernel_size):
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size)
        self.pool1 = nn.MaxPool3d(pool_kernel_size)
        self.pool2 = nn.MaxPool3d(pool_kernel_size)

    def forward(self, x):
        x = self.conv(x)
        x = torch.softmax(x, dim=1)
        return self.pool2(self.pool1(x))


class ModelNew(Model):
    """Model as one fusetune call: conv3d -> bias -> softmax(dim=1) -> max_pool3d ->
    max_pool3d. Model's constructor, so the same arguments, parameters and state_dict."""

    def __init__(self, *args):
        super().__init__(*args)
        self.epilogue = " -> ".join(["softmax(dim=1)", _steps.max_pool(self.pool1),
                                     _steps.max_pool(self.pool2)])

    def forward(self, x):
        conv = self.conv
        return ft.conv3d(x, conv.weight, conv.bias, stride=conv.stride, padding=conv.padding,
                         dilation=conv.dilation, groups=conv.groups, epilogue=self.epilogue)


batch_size = 128
in_channels = 3
out_channels = 16
depth, height, width = 16, 32, 32
kernel_size = 3
pool_kernel_size = 2
# Small sizes for check_on_cpu.py, which checks ModelNew's spec against Model on CPU.
TINY = dict(batch_size=2, out_channels=5, depth=6, height=11, width=7)


def get_inputs():
    return [torch.rand(batch_size, in_channels, depth, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, pool_kernel_size]
