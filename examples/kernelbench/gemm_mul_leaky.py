"""KernelBench level 2, 12_Gemm_Multiply_LeakyReLU, with a fusetune version.

Model is PyTorch's: a Linear layer (cuBLAS), then a multiplication by a constant and a LeakyReLU
as two more kernels. ModelNew has the same parameters (their state_dicts load either way) and
computes all three steps in one fusetune kernel, the multiplication and the LeakyReLU as the
GEMM's epilogue.

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py examples/kernelbench/gemm_mul_leaky.py
"""

import torch
import torch.nn as nn

import fusetune.torch as ft


class Model(nn.Module):
    """x @ W^T + b, times a constant, then LeakyReLU."""

    def __init__(self, in_features, out_features, multiplier, negative_slope):
        super().__init__()
        self.gemm = nn.Linear(in_features, out_features)
        self.multiplier = multiplier
        self.leaky_relu = nn.LeakyReLU(negative_slope)

    def forward(self, x):
        x = self.gemm(x)
        x = x * self.multiplier
        x = self.leaky_relu(x)
        return x


class ModelNew(Model):
    """Model as one fused kernel: linear -> bias -> mul(multiplier) -> leaky_relu(slope). Model's
    constructor, so the same arguments, parameters and state_dict."""

    def forward(self, x):
        epilogue = f"mul({self.multiplier}) -> leaky_relu({self.leaky_relu.negative_slope})"
        return ft.linear(x, self.gemm.weight, self.gemm.bias, epilogue=epilogue)


batch_size = 1024
in_features = 8192
out_features = 8192
multiplier = 2.0
negative_slope = 0.1


def get_inputs():
    return [torch.randn(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features, multiplier, negative_slope]
