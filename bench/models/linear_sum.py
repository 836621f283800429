"""Linear(8192, 8192) -> sum over the features (kept as a dim of 1), with a fusetune version.

Model is PyTorch's: a Linear layer (cuBLAS), then a row sum as its own kernel, which reads the
layer's [batch, out_features] output back. ModelNew has the same parameters (their state_dicts
load either way) and runs the chain as one fusetune plan: the GEMM, then finishing kernels that
sum each row and write one value per row.

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py bench/models/linear_sum.py
"""

import torch
import torch.nn as nn

import fusetune.torch as ft


class Model(nn.Module):
    """x @ W^T + b, summed over the features (keepdim)."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return torch.sum(self.linear(x), dim=1, keepdim=True)


class ModelNew(Model):
    """Model as one fusetune call: linear -> bias -> sum(dim=1, keepdim=true). Model's
    constructor, so the same arguments, parameters and state_dict."""

    EPILOGUE = "sum(dim=1, keepdim=true)"

    def forward(self, x):
        return ft.linear(x, self.linear.weight, self.linear.bias, epilogue=self.EPILOGUE)


batch_size = 1024
in_features = 8192
out_features = 8192
# Small sizes for check_on_cpu.py, which checks ModelNew's spec against Model on CPU.
TINY = dict(batch_size=4, in_features=16, out_features=24)


def get_inputs():
    return [torch.rand(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features]
