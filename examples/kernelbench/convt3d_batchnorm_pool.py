"""KernelBench level 2, 77_ConvTranspose3d_Scale_BatchNorm_GlobalAvgPool, with a fusetune
version.

Model is PyTorch's: a 3-D transposed convolution (cuDNN), a multiplication by a constant,
BatchNorm3d and a global average pool, each its own kernel (batch norm in training mode reads
the convolution's full-size output twice: once for the statistics, once to normalize). ModelNew
has the same parameters and buffers (their state_dicts load either way) and computes the whole
chain as one fusetune plan, batch norm included: the convolution with its bias and the scale
writes its output once, a finishing kernel gathers each channel's batch statistics (and in
training mode updates the running mean and variance in place, as nn.BatchNorm3d does; in eval
mode it reads them instead), and another normalizes and averages each channel's positions.

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py \\
      examples/kernelbench/convt3d_batchnorm_pool.py
"""

import torch
import torch.nn as nn

import fusetune.torch as ft


class Model(nn.Module):
    """conv_transpose3d -> x * scale_factor -> BatchNorm3d -> global average pool."""

    def __init__(self, in_channels, out_channels, kernel_size, scale_factor, eps=1e-5,
                 momentum=0.1):
        super().__init__()
        self.conv_transpose = nn.ConvTranspose3d(in_channels, out_channels, kernel_size)
        self.scale_factor = scale_factor
        self.batch_norm = nn.BatchNorm3d(out_channels, eps=eps, momentum=momentum)
        self.global_avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1))

    def forward(self, x):
        x = self.conv_transpose(x)
        x = x * self.scale_factor
        x = self.batch_norm(x)
        x = self.global_avg_pool(x)
        return x


def batch_norm_step(norm):
    """The epilogue step for `norm` (an nn.BatchNorm*d) in its current mode, and its operands
    in the order fusetune.describe() lists them: the running mean and variance (when it has
    them), then the weight and the bias (when affine)."""
    if norm.momentum is None:
        raise ValueError("fusetune's batch_norm updates its running statistics by momentum; "
                         "momentum=None (a cumulative average) is not supported")
    uses_batch = norm.training or not norm.track_running_stats
    step = (f"batch_norm(eps={norm.eps}, momentum={norm.momentum}, "
            f"training={str(uses_batch).lower()}, affine={str(norm.affine).lower()}, "
            f"track_running_stats={str(norm.track_running_stats).lower()})")
    operands = [norm.running_mean, norm.running_var] if norm.track_running_stats else []
    operands += [norm.weight, norm.bias] if norm.affine else []
    return step, operands


class ModelNew(Model):
    """Model as one fused kernel: conv_transpose3d -> bias -> mul(scale_factor) -> batch_norm
    -> global_avg_pool. Model's constructor, so the same arguments, parameters and state_dict.
    """

    def forward(self, x):
        conv, norm = self.conv_transpose, self.batch_norm
        step, operands = batch_norm_step(norm)
        if norm.training and norm.track_running_stats:
            norm.num_batches_tracked.add_(1)  # as nn.BatchNorm3d counts, for its state_dict
        return ft.conv_transpose3d(x, conv.weight, conv.bias, stride=conv.stride,
                                   padding=conv.padding, output_padding=conv.output_padding,
                                   groups=conv.groups, dilation=conv.dilation,
                                   epilogue=f"mul({self.scale_factor}) -> {step} -> "
                                            "global_avg_pool",
                                   operands=operands)


batch_size = 16
in_channels = 64
out_channels = 128
depth, height, width = 16, 32, 32
kernel_size = 5
scale_factor = 2.0


def get_inputs():
    return [torch.rand(batch_size, in_channels, depth, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, scale_factor]
