"""ConvTranspose3d(16, 32, 3, stride=2, padding=1, output_padding=1) on x[16, 16, 16, 32, 32]
-> BatchNorm3d(32) -> LeakyReLU(0.2) -> MaxPool3d(2), with a fusetune version.

Model is PyTorch's: a 3-D transposed convolution (cuDNN), then BatchNorm3d, LeakyReLU and a
2x2x2 max pool, each its own kernel; in training mode (fresh modules, as KernelBench runs them)
batch norm reads the convolution's full-size output (268 MB) twice, once for the statistics and
once to normalize. ModelNew has the same parameters and buffers (their state_dicts load either
way) and runs the chain as one fusetune plan: the convolution, a finishing kernel for each
channel's mean and variance over the batch (updating the running statistics in place, as
nn.BatchNorm3d does in training mode), and one that normalizes, activates and pools. In eval
mode it reads the running statistics instead.

Check and time it on a CUDA machine, from the repository root, in training mode:
  PYTHONPATH=python python3 bench/kernelbench_eval.py bench/models/convt3d_batchnorm.py \\
      --train-mode
"""

import torch
import torch.nn as nn

import _steps
import fusetune.torch as ft


class Model(nn.Module):
    """conv_transpose3d -> BatchNorm3d -> leaky_relu -> max_pool3d."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                 negative_slope, pool_kernel_size):
        super().__init__()
        self.conv_transpose = nn.ConvTranspose3d(in_channels, out_channels, kernel_size,
                                                 stride=stride, padding=padding,
                                                 output_padding=output_padding)
        self.batch_norm = nn.BatchNorm3d(out_channels)
        self.leaky_relu = nn.LeakyReLU(negative_slope)
        self.max_pool = nn.MaxPool3d(pool_kernel_size)

    def forward(self, x):
        return self.max_pool(self.leaky_relu(self.batch_norm(self.conv_transpose(x))))


class ModelNew(Model):
    """Model as one fusetune call: conv_transpose3d -> bias -> batch_norm(eps, momentum,
    training, affine, track_running_stats) -> leaky_relu(slope) -> max_pool3d(2), the norm's
    running statistics, weight and bias as operands. Model's constructor, so the same
    arguments, parameters and state_dict."""

    def __init__(self, *args):
        super().__init__(*args)
        rest = f" -> {_steps.leaky_relu(self.leaky_relu)} -> {_steps.max_pool(self.max_pool)}"
        self.epilogues = _steps.batch_norm_by_mode(self.batch_norm, rest)

    def forward(self, x):
        conv, norm = self.conv_transpose, self.batch_norm
        _steps.count_batch(norm)
        return ft.conv_transpose3d(x, conv.weight, conv.bias, stride=conv.stride,
                                   padding=conv.padding, output_padding=conv.output_padding,
                                   groups=conv.groups, dilation=conv.dilation,
                                   epilogue=self.epilogues[norm.training],
                                   operands=_steps.norm_operands(norm))


batch_size = 16
in_channels = 16
out_channels = 32
depth, height, width = 16, 32, 32
kernel_size = 3
stride = 2
padding = 1
output_padding = 1
negative_slope = 0.2
pool_kernel_size = 2
# Small sizes for check_on_cpu.py, which checks ModelNew's spec against Model on CPU.
TINY = dict(batch_size=2, in_channels=3, out_channels=4, depth=3, height=4, width=5)


def get_inputs():
    return [torch.rand(batch_size, in_channels, depth, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, stride, padding, output_padding,
            negative_slope, pool_kernel_size]
