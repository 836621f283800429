#!/usr/bin/env python3
"""Checks the model files of bench/models without a GPU: that each ModelNew writes the spec its
Model computes.

For each file (default: every bench/models/*.py but this one and the _helpers):
Full size  Model and ModelNew are built from get_init_inputs(); their state_dicts must have the
           same keys and shapes. ModelNew then runs, in training and in eval mode, on meta
           tensors (no memory, no kernel): fusetune.torch writes each call's spec,
           fusetune.describe() parses it and the tensors are checked against its operands, as
           on a GPU. The specs are printed.
Tiny       the file's TINY sizes (a dict of its module-level sizes) replace the full ones;
           Model is built with every floating-point parameter and buffer moved off its
           default (so that operands in the wrong order show), ModelNew loads its state_dict,
           and both run in float64 on CPU, in eval mode and in training mode, ModelNew's fused
           calls computed by fusetune.torch.reference (PyTorch's ops on the spec's
           description). Outputs must agree to 1e-9, and after training mode so must the
           buffers (batch_norm's running statistics and batch count).
This checks the spec text and operand order against Model; the kernels themselves are checked
on a GPU by bench/kernelbench_eval.py.

Usage, from the repository root, with a Python that has PyTorch (Debian's python3-torch will
do) and the built library:
  FUSETUNE_LIBRARY=build/lib/libfusetune.so python3 bench/models/check_on_cpu.py [FILE ...]
Exit status: 0 when every file passed, 1 otherwise.
"""

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the model files import _steps
try:
    importlib.import_module("fusetune")
except ImportError:
    sys.path.insert(0, str(HERE.parent.parent / "python"))
import fusetune  # noqa: E402
import fusetune.torch as ft  # noqa: E402

TOLERANCE = 1e-9


def model_files():
    this = Path(__file__).resolve()
    return sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_") and p != this)


def load(path, tiny=False):
    """The model file as a fresh module; with `tiny`, its TINY sizes replace the module-level
    ones that get_inputs() and get_init_inputs() read."""
    spec = importlib.util.spec_from_file_location(f"bench_model_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if tiny:
        if not getattr(module, "TINY", None):
            raise AssertionError(f"{path.name} has no TINY sizes")
        vars(module).update(module.TINY)
    return module


def build(module, seed=0, scramble=False):
    """Model and ModelNew with Model's state; `scramble` first moves every floating-point
    parameter and buffer off its default (norms start as weight 1, bias 0, running mean 0,
    running variance 1, where operands in the wrong order would go unnoticed)."""
    torch.manual_seed(seed)
    model = module.Model(*module.get_init_inputs())
    if scramble:
        with torch.no_grad():
            for value in model.state_dict().values():
                if value.is_floating_point():
                    value.add_(torch.rand_like(value) + 0.5)
    torch.manual_seed(seed)
    new = module.ModelNew(*module.get_init_inputs())
    ref, ours = model.state_dict(), new.state_dict()
    if {k: v.shape for k, v in ref.items()} != {k: v.shape for k, v in ours.items()}:
        raise AssertionError(f"state_dicts differ: {sorted(ref)} against {sorted(ours)}")
    new.load_state_dict(ref)
    return model, new


class Recorded:
    """fusetune.torch.fused replaced for the block: each call's spec is kept, and the call is
    computed by `compute` (None: the real fused, e.g. on meta tensors)."""

    def __init__(self, compute=None):
        self.specs, self.compute = [], compute

    def __enter__(self):
        self.saved = ft.fused

        def fused(spec, *tensors, **options):
            self.specs.append(spec)
            return (self.compute or self.saved)(spec, *tensors, **options)

        ft.fused = fused
        return self

    def __exit__(self, *exc):
        ft.fused = self.saved


def full_size_specs(path):
    """The specs ModelNew writes at the file's own sizes in training and eval mode, each parsed
    and its tensors checked."""
    module = load(path)
    model, new = build(module)
    del model
    new.to("meta")
    inputs = [x.to("meta") if isinstance(x, torch.Tensor) else x for x in module.get_inputs()]
    with Recorded() as calls, torch.no_grad():
        for training in (True, False):
            new.train(training)(*inputs)
    for spec in calls.specs:
        fusetune.describe(spec)
    return list(dict.fromkeys(calls.specs))


def difference(a, b):
    return float((a - b).abs().max()) if a.shape == b.shape else float("inf")


def tiny_check(path, training):
    """Problems of ModelNew against Model at the file's TINY sizes, in one mode; [] when none."""
    module = load(path, tiny=True)
    model, new = build(module, scramble=True)
    model.double().train(training)
    new.double().train(training)
    torch.manual_seed(1)
    inputs = [x.double() if isinstance(x, torch.Tensor) else x for x in module.get_inputs()]
    reference = lambda spec, *tensors, **options: ft.reference(spec, *tensors)  # noqa: E731
    with torch.no_grad(), Recorded(reference):
        want, got = model(*inputs), new(*inputs)
    problems = []
    if difference(got, want) > TOLERANCE:
        problems.append(f"output differs by {difference(got, want):.1e} "
                        f"(shapes {tuple(got.shape)}, {tuple(want.shape)})")
    ours = new.state_dict()
    for name, value in model.state_dict().items():
        if difference(ours[name].double(), value.double()) > TOLERANCE:
            problems.append(f"{name} differs after a call")
    return problems


def check(path, full):
    print(path.name)
    ok = True
    if full:
        for spec in full_size_specs(path):
            print(f"  spec: {spec}")
    for training in (False, True):
        mode = "training" if training else "eval"
        problems = tiny_check(path, training)
        print(f"  tiny, {mode} mode: {'ok' if not problems else '; '.join(problems)}")
        ok = ok and not problems
    return ok


def main():
    parser = argparse.ArgumentParser(description="Check bench/models' ModelNew specs on CPU.")
    parser.add_argument("files", nargs="*", type=Path, help="model files (default: all)")
    parser.add_argument("--no-full", action="store_true",
                        help="skip building the models at full size (a few seconds and GB)")
    args = parser.parse_args()
    failed = []
    for path in [p.resolve() for p in args.files] or model_files():
        try:
            passed = check(path, not args.no_full)
        except Exception as error:  # noqa: BLE001 - reported per file, the others still run
            print(f"  FAILED: {type(error).__name__}: {error}")
            passed = False
        if not passed:
            failed.append(path.name)
    print(f"{len(failed)} failed: {', '.join(failed)}" if failed else "all passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
