"""KernelBench level 2, 10_ConvTranspose2d_MaxPool_Hardtanh_Mean_Tanh, at ConvTranspose2d(64, 64,
3, stride=2, padding=1) on x[128, 64, 64, 64], with a fusetune version.

Model is PyTorch's: a transposed convolution (cuDNN) whose [128, 64, 127, 127] output goes
through memory, then a 2x2 max pool, Hardtanh, the mean over the positions and Tanh, each its
own kernel. ModelNew has the same parameters (their state_dicts load either way) and runs the
chain as one fusetune plan: the convolution, which pools before it writes where its kernel
family can (the direct one: a quarter of the values), then finishing kernels that take each
channel's mean of the clamped values and apply tanh to one value per (sample, channel).

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py bench/models/convt2d_pool_mean.py
"""

import torch
import torch.nn as nn

import _steps
import fusetune.torch as ft


class Model(nn.Module):
    """conv_transpose2d -> max_pool2d -> hardtanh -> mean over the positions (keepdim) -> tanh."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding,
                 maxpool_kernel_size, maxpool_stride, hardtanh_min, hardtanh_max):
        super().__init__()
        self.conv_transpose = nn.ConvTranspose2d(in_channels, out_channels, kernel_size,
                                                 stride=stride, padding=padding)
        self.maxpool = nn.MaxPool2d(kernel_size=maxpool_kernel_size, stride=maxpool_stride)
        self.hardtanh = nn.Hardtanh(min_val=hardtanh_min, max_val=hardtanh_max)

    def forward(self, x):
        x = self.hardtanh(self.maxpool(self.conv_transpose(x)))
        x = torch.mean(x, dim=(2, 3), keepdim=True)
        return torch.tanh(x)


class ModelNew(Model):
    """Model as one fusetune call: conv_transpose2d -> bias -> max_pool2d -> hardtanh(min, max)
    -> mean(dim=(2, 3), keepdim=true) -> tanh. Model's constructor, so the same arguments,
    parameters and state_dict."""

    def __init__(self, *args):
        super().__init__(*args)
        self.epilogue = " -> ".join([_steps.max_pool(self.maxpool), _steps.hardtanh(self.hardtanh),
                                     "mean(dim=(2, 3), keepdim=true)", "tanh"])

    def forward(self, x):
        conv = self.conv_transpose
        return ft.conv_transpose2d(x, conv.weight, conv.bias, stride=conv.stride,
                                   padding=conv.padding, output_padding=conv.output_padding,
                                   groups=conv.groups, dilation=conv.dilation,
                                   epilogue=self.epilogue)


batch_size = 128
in_channels = 64
out_channels = 64
height = width = 64
kernel_size = 3
stride = 2
padding = 1
maxpool_kernel_size = 2
maxpool_stride = 2
hardtanh_min = -1.0
hardtanh_max = 1.0
# Small sizes for check_on_cpu.py, which checks ModelNew's spec against Model on CPU.
TINY = dict(batch_size=2, in_channels=3, out_channels=4, height=5, width=6)


def get_inputs():
    return [torch.rand(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, stride, padding, maxpool_kernel_size,
            maxpool_stride, hardtanh_min, hardtanh_max]
