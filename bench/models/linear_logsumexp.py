"""Linear(8192, 8192) -> logsumexp over the features (kept as a dim of 1) -> LeakyReLU -> GELU,
with a fusetune version.

Model is PyTorch's: a Linear layer (cuBLAS), a LogSumExp over each row, then a LeakyReLU and a
GELU on the [batch, 1] result, each its own kernel. ModelNew has the same parameters (their
state_dicts load either way) and runs the chain as one fusetune plan: the GEMM, then finishing
kernels that reduce each row (max and sum of exponentials) and apply the tail to one value per
row.

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py bench/models/linear_logsumexp.py
"""

import torch
import torch.nn as nn

import _steps
import fusetune.torch as ft


class Model(nn.Module):
    """x @ W^T + b, logsumexp over the features (keepdim), LeakyReLU, GELU."""

    def __init__(self, in_features, out_features, negative_slope):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.leaky_relu = nn.LeakyReLU(negative_slope)
        self.gelu = nn.GELU()

    def forward(self, x):
        x = self.linear(x)
        x = torch.logsumexp(x, dim=1, keepdim=True)
        return self.gelu(self.leaky_relu(x))


class ModelNew(Model):
    """Model as one fusetune call: linear -> bias -> logsumexp(dim=1, keepdim=true) ->
    leaky_relu(slope) -> gelu. Model's constructor, so the same arguments, parameters and
    state_dict."""

    def __init__(self, *args):
        super().__init__(*args)
        self.epilogue = " -> ".join(["logsumexp(dim=1, keepdim=true)",
                                     _steps.leaky_relu(self.leaky_relu), _steps.gelu(self.gelu)])

    def forward(self, x):
        return ft.linear(x, self.linear.weight, self.linear.bias, epilogue=self.epilogue)


batch_size = 1024
in_features = 8192
out_features = 8192
negative_slope = 0.01
# Small sizes for check_on_cpu.py, which checks ModelNew's spec against Model on CPU.
TINY = dict(batch_size=4, in_features=16, out_features=24)


def get_inputs():
    return [torch.rand(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features, negative_slope]
