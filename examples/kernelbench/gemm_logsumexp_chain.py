"""KernelBench level 2, 64_Gemm_LogSumExp_LeakyReLU_LeakyReLU_GELU_GELU, with a fusetune version.

Model is PyTorch's: a Linear layer (cuBLAS), a LogSumExp over each row, then two LeakyReLUs and
two GELUs on the [batch, 1] result, each its own kernel, the layer's full [batch, out_features]
output going through memory before the row reduction reads it back. ModelNew has the same
parameters (their state_dicts load either way) and computes the whole chain as one fusetune
plan: the tuned GEMM with its bias writes the layer's output once, one finishing kernel gathers
each row's maximum and sum of exponentials, and another applies the logsumexp and the four
activations to each row's value, so no intermediate PyTorch would not also write reaches memory.

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py examples/kernelbench/gemm_logsumexp_chain.py
"""

import torch
import torch.nn as nn

import fusetune.torch as ft


class Model(nn.Module):
    """x @ W^T + b, logsumexp over the features (kept as a dim of 1), LeakyReLU twice, GELU
    twice."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=bias)

    def forward(self, x):
        x = self.linear(x)
        x = torch.logsumexp(x, dim=1, keepdim=True)
        x = torch.nn.functional.leaky_relu(x, negative_slope=0.01)
        x = torch.nn.functional.leaky_relu(x, negative_slope=0.01)
        x = torch.nn.functional.gelu(x)
        x = torch.nn.functional.gelu(x)
        return x


class ModelNew(Model):
    """Model as one fused kernel: linear -> bias -> logsumexp(dim=1, keepdim=true) ->
    leaky_relu(0.01) -> leaky_relu(0.01) -> gelu -> gelu. Model's constructor, so the same
    arguments, parameters and state_dict."""

    EPILOGUE = ("logsumexp(dim=1, keepdim=true) -> leaky_relu(0.01) -> leaky_relu(0.01) -> "
                "gelu -> gelu")

    def forward(self, x):
        return ft.linear(x, self.linear.weight, self.linear.bias, epilogue=self.EPILOGUE)


batch_size = 1024
in_features = 8192
out_features = 8192


def get_inputs():
    return [torch.rand(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features]
