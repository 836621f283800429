"""KernelBench level 2, 30_Gemm_GroupNorm_Hardtanh, at Linear(8192, 8192), with a fusetune
version.

Model is PyTorch's: a Linear layer (cuBLAS), then GroupNorm (8 groups of the features) and
Hardtanh, each its own kernel. ModelNew has the same parameters (their state_dicts load either
way) and runs the chain as one fusetune plan: the GEMM, then finishing kernels that compute each
(row, group)'s mean and variance and write the normalized, clamped values.

Check and time it on a CUDA machine, from the repository root:
  PYTHONPATH=python python3 bench/kernelbench_eval.py bench/models/linear_groupnorm.py
"""

import torch
import torch.nn as nn

import _steps
import fusetune.torch as ft


class Model(nn.Module):
    """x @ W^T + b, GroupNorm over groups of the features, Hardtanh."""

    def __init__(self, in_features, out_features, num_groups, hardtanh_min, hardtanh_max):
        super().__init__()
        self.gemm = nn.Linear(in_features, out_features)
        self.group_norm = nn.GroupNorm(num_groups, out_features)
        self.hardtanh = nn.Hardtanh(min_val=hardtanh_min, max_val=hardtanh_max)

    def forward(self, x):
        return self.hardtanh(self.group_norm(self.gemm(x)))


class ModelNew(Model):
    """Model as one fusetune call: linear -> bias -> group_norm(groups, eps, affine) ->
    hardtanh(min, max), the norm's weight and bias as operands. Model's constructor, so the
    same arguments, parameters and state_dict."""

    def __init__(self, *args):
        super().__init__(*args)
        self.epilogue = (f"{_steps.group_norm(self.group_norm)} -> "
                         f"{_steps.hardtanh(self.hardtanh)}")

    def forward(self, x):
        return ft.linear(x, self.gemm.weight, self.gemm.bias, epilogue=self.epilogue,
                         operands=_steps.norm_operands(self.group_norm))


batch_size = 1024
in_features = 8192
out_features = 8192
num_groups = 8
hardtanh_min = -2.0
hardtanh_max = 2.0
# Small sizes for check_on_cpu.py, which checks ModelNew's spec against Model on CPU.
TINY = dict(batch_size=4, in_features=16, out_features=24)


def get_inputs():
    return [torch.rand(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features, num_groups, hardtanh_min, hardtanh_max]
