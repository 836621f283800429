"""Linear(8192, 8192) -> LayerNorm(8192) -> GELU, with a fusetune version.

Model is PyTorch's: a Linear layer (cuBLAS), then LayerNorm and GELU, each its own kernel, the
layer's full output going through memory between them. ModelNew has the same parameters (their
state_dicts load either way) and runs the chain as one fusetune plan: the GEMM, then finishing
kernels that compute each row's mean and variance and write the normalized, activated rows.

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py bench/models/linear_layernorm_gelu.py
"""

import torch
import torch.nn as nn

import _steps
import fusetune.torch as ft


class Model(nn.Module):
    """x @ W^T + b, LayerNorm over the features, GELU."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.layer_norm = nn.LayerNorm(out_features)
        self.gelu = nn.GELU()

    def forward(self, x):
        return self.gelu(self.layer_norm(self.linear(x)))


class ModelNew(Model):
    """Model as one fusetune call: linear -> bias -> layer_norm(normalized_shape, eps, affine)
    -> gelu, the norm's weight and bias as operands. Model's constructor, so the same
    arguments, parameters and state_dict."""

    def __init__(self, *args):
        super().__init__(*args)
        self.epilogue = f"{_steps.layer_norm(self.layer_norm)} -> {_steps.gelu(self.gelu)}"

    def forward(self, x):
        return ft.linear(x, self.linear.weight, self.linear.bias, epilogue=self.epilogue,
                         operands=_steps.norm_operands(self.layer_norm))


batch_size = 1024
in_features = 8192
out_features = 8192
# Small sizes for check_on_cpu.py, which checks ModelNew's spec against Model on CPU.
TINY = dict(batch_size=4, in_features=16, out_features=24)


def get_inputs():
    return [torch.rand(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features]
