#!/usr/bin/env python3
"""Times a whole training step (forward, loss, backward, SGD update) of a KernelBench-style model
file: its Model under PyTorch eager and torch.compile, against its ModelNew (fusetune), in one
run, and checks ModelNew's gradients against float64.

Steps timed, each on the same inputs and starting weights:
  eager fp32      Model, TF32 off (PyTorch's exact fp32)
  compile fp32    torch.compile(Model) (default mode), TF32 off
  fusetune auto   ModelNew at fp32-accurate precision (ft.set_precision("auto"))
  eager tf32      Model with TF32 matmuls and convolutions on
  fusetune tf32   ModelNew at TF32 (ft.set_precision("tf32"))
The loss is (out * g).sum() for a fixed random g, so that d loss / d out = g. One timing: zero a
256 MiB buffer (flushes L2, untimed), CUDA events around one step; every variant once per round,
--runs rounds, interleaved so that drift touches all alike; the median is reported and the
speedups are ratios of medians. Before timing, ft.tune(..., backward=True) tunes the fused
forward, backward and matmuls (its time reported apart).

Check: ModelNew's weight, bias and input gradients against Model's in float64 on the same
values, tensor by tensor: relative Frobenius error at most 1e-5 at auto, or 1.5x that of PyTorch's
own fp32 step where that is larger (a max pool's gradient goes to each window's largest value, and
where two are within rounding of each other fp32 and float64 pick differently: PyTorch's fp32 step
too); at tf32 at most 1.5x that of PyTorch's own TF32 step. A model whose main op has no TF32 kernel (a
transposed convolution's) runs no fusetune tf32 variant; the table says so.

Usage, from the repository root of a GPU machine:
  PYTHONPATH=python python3 bench/training_step.py examples/kernelbench/gemm_mul_leaky.py
Prints a table, then the JSON document as the last line (also to --json PATH).
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import statistics
import sys
import time

import torch

import fusetune
import fusetune.torch as ft

AUTO_TOLERANCE = 1e-5
TF32_FACTOR = 1.5  # times PyTorch's own TF32 error


def load_module(path):
    spec = importlib.util.spec_from_file_location("model_file", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(__import__("pathlib").Path(path).resolve().parent))
    spec.loader.exec_module(module)
    return module


def ft_specs(model, inputs):
    """The specs of the fused calls model(*inputs) makes, as ft.tune records them."""
    with ft._recording() as calls, torch.no_grad():
        model(*inputs)
    return [spec for (_, spec, _, _) in calls]


def set_tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def make_step(model, inputs, grad):
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)

    def step():
        optimizer.zero_grad(set_to_none=True)
        (model(*inputs) * grad).sum().backward()
        optimizer.step()

    return step


def gradients(model, inputs, grad):
    leaves = [t.detach().clone().requires_grad_() for t in inputs]
    model.zero_grad(set_to_none=True)
    (model(*leaves) * grad).sum().backward()
    return [p.grad.detach().clone() for p in model.parameters()] + [t.grad for t in leaves]


def rel_error(got, want):
    return ((got.double() - want).norm() / want.norm()).item()


def breakdown(spec, x, weight, bias, grad, runs, max_candidates, precision):
    """Each kernel of the fused step at `precision` ("auto" or "tf32") on its own (median ms, L2
    flushed), and PyTorch's matmuls of the same products at the same precision, for `spec` (a
    linear layer's)."""
    import fusetune
    from fusetune.torch import _op, _training
    plan = fusetune.describe(spec).backward
    device, stream = 0, torch.cuda.current_stream().cuda_stream
    saved, out = torch.empty_like(grad), torch.empty_like(grad)
    grad_main, grad_bias = torch.empty_like(grad), torch.empty_like(bias)
    dx, dw = torch.empty_like(x), torch.empty_like(weight)
    forward = _op._kernel(device, plan["saving"], precision, 0.0)
    chain = _training._chain_kernel(device, spec)
    grad_a = _op._kernel(device, plan["grad_a"], precision, 0.0)
    grad_b = _op._kernel(device, plan["grad_b"], precision, 0.0)
    torch_name = "tf32" if precision == "tf32" else "fp32"
    pieces = {
        "forward (saving)": lambda: forward.launch(
            stream, [x.data_ptr(), weight.data_ptr(), saved.data_ptr(), bias.data_ptr()],
            out.data_ptr()),
        "chain backward": lambda: chain.launch(
            stream, [grad.data_ptr(), saved.data_ptr(), bias.data_ptr(), grad_bias.data_ptr()],
            grad_main.data_ptr()),
        "d x " + plan["grad_a"] + " [" + grad_a.config + "]": lambda: grad_a.launch(
            stream, [grad_main.data_ptr(), weight.data_ptr()], dx.data_ptr()),
        "d W " + plan["grad_b"] + " [" + grad_b.config + "]": lambda: grad_b.launch(
            stream, [grad_main.data_ptr(), x.data_ptr()], dw.data_ptr()),
        f"torch {torch_name} g' @ W": lambda: torch.mm(grad_main, weight),
        f"torch {torch_name} g'^T @ x": lambda: torch.mm(grad_main.t(), x),
    }
    # The same products with every operand k-contiguous (what TF32 wgmma takes), after a
    # transposed copy: which layout the plan should use is a measurement.
    m, k = x.shape
    n = weight.shape[0]
    w_t, x_t, g_t = weight.t().contiguous(), x.t().contiguous(), grad_main.t().contiguous()
    for name, spec_t, operands, result in (
            ("d x from Wt", f"matmul(m={m}, n={k}, k={n}, transpose_b=true)", (grad_main, w_t), dx),
            ("d W from g't, xt", f"matmul(m={n}, n={k}, k={m}, transpose_b=true)", (g_t, x_t),
             dw)):
        shared_library = fusetune.shared_library(device)
        shared_library.tune(spec_t, precision, max_candidates=max_candidates, progress=False)
        kernel = _op._kernel(device, spec_t, precision, 0.0)
        pieces[f"{name} {spec_t} [{kernel.config}]"] = (
            lambda kernel=kernel, operands=operands, result=result: kernel.launch(
                stream, [t.data_ptr() for t in operands], result.data_ptr()))
    pieces["transpose W (copy)"] = lambda: weight.t().contiguous()
    pieces["transpose x and g' (copies)"] = lambda: (x.t().contiguous(), grad_main.t().contiguous())
    variants = {name: (f, precision == "tf32") for name, f in pieces.items()}
    set_tf32(precision == "tf32")
    for name, f in pieces.items():
        f()
    torch.cuda.synchronize()
    times = time_steps(variants, runs)
    set_tf32(False)
    return times


def conv_breakdown(spec, tensors, runs, precision):
    """Each kernel of the fused step of `spec` (a convolution's) at `precision` on its own
    (median ms, L2 flushed), and PyTorch's pieces of the same backward: the convolution's
    forward, its data gradient and its weight gradient, at fp32 and at TF32."""
    import fusetune
    from fusetune.torch import _op, _training
    plan = fusetune.describe(spec).backward
    device, stream = 0, torch.cuda.current_stream().cuda_stream
    x, weight, operands = tensors[0], tensors[1], list(tensors[2:])
    main = fusetune.describe(spec).main
    saved = torch.empty(fusetune.describe(plan["saving"]).tensors[2].shape, device="cuda")
    out = torch.empty(fusetune.describe(spec).output_shape, device="cuda")
    grad = torch.randn_like(out)
    grad_main, dx = torch.empty_like(saved), torch.empty_like(x)
    operand_grads = [torch.empty_like(t) for t in operands]
    forward = _op._kernel(device, plan["saving"], precision, 0.0)
    chain = _training._chain_kernel(device, spec)
    grad_a = _op._kernel(device, plan["grad_a"], precision, 0.0)
    pointers = [t.data_ptr() for t in [x, weight, saved, *operands]]
    chain_pointers = [t.data_ptr() for t in [grad, saved, *operands, *operand_grads]]
    pieces = {
        f"forward (saving) [{forward.config}]": lambda: forward.launch(stream, pointers,
                                                                       out.data_ptr()),
        "chain backward (g')": lambda: chain.launch(stream, chain_pointers, grad_main.data_ptr()),
        f"d x {plan['grad_a']} [{grad_a.config}]": lambda: grad_a.launch(
            stream, [grad_main.data_ptr(), weight.data_ptr()], dx.data_ptr()),
    }

    def torch_backward(which):
        return lambda: _training.convolution_backward(main, grad_main, x, weight, which)

    variants = {name: (f, precision == "tf32") for name, f in pieces.items()}
    for tf32 in (False, True):
        label = "tf32" if tf32 else "fp32"
        variants[f"torch {label} d weight (cuDNN)"] = (torch_backward([False, True, False]), tf32)
        variants[f"torch {label} d x (cuDNN)"] = (torch_backward([True, False, False]), tf32)
    for f, tf32 in variants.values():
        set_tf32(tf32)
        f()
    torch.cuda.synchronize()
    times = time_steps(variants, runs)
    set_tf32(False)
    return times


def time_steps(variants, runs):
    """Each variant's median step on the GPU (events around it, L2 flushed before), and the
    median time the CPU took to issue it: a step whose issue time nears its GPU time is bound
    by the host (Python, dispatch), not by its kernels."""
    flush = torch.empty(256 * 1024 * 1024, dtype=torch.uint8, device="cuda")
    times = {name: [] for name in variants}
    issue = {name: [] for name in variants}
    for _ in range(runs):
        for name, (step, tf32) in variants.items():
            set_tf32(tf32)
            flush.zero_()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            began = time.perf_counter()
            step()
            issue[name].append(1e3 * (time.perf_counter() - began))
            end.record()
            end.synchronize()
            times[name].append(start.elapsed_time(end))
    return ({name: statistics.median(t) for name, t in times.items()},
            {name: statistics.median(t) for name, t in issue.items()})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_file")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--max-candidates", type=int, default=0,
                        help="bound each tuning sweep (0: the whole space)")
    parser.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time each kernel of the fused step at each precision, and "
                             "PyTorch's pieces of the same step")
    parser.add_argument("--json", help="also write the JSON document here")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("training_step: needs a CUDA GPU", file=sys.stderr)
        return 2

    module = load_module(args.model_file)
    torch.manual_seed(0)
    model = module.Model(*module.get_init_inputs()).cuda().train()
    inputs = [t.cuda() for t in module.get_inputs()]
    fused = module.ModelNew(*module.get_init_inputs()).cuda().train()
    fused.load_state_dict(model.state_dict())
    with torch.no_grad():
        grad = torch.randn_like(model(*inputs))

    # Tuning, apart from the timing.
    tuning, not_run = {}, {}
    for precision in ("auto", "tf32"):
        ft.set_precision(precision)
        start = time.perf_counter()
        try:
            ft.tune(fused, *inputs, backward=True, max_candidates=args.max_candidates,
                    progress=False)
        except fusetune.InvalidArgument as e:
            if precision == "auto":
                raise
            not_run[precision] = str(e)
            continue
        tuning[precision] = time.perf_counter() - start
    precisions = list(tuning)

    # Check: gradients against float64 on the same values.
    set_tf32(False)
    reference = gradients(copy.deepcopy(model).double(), [t.double() for t in inputs],
                          grad.double())
    # PyTorch's own steps against the same float64 gradients: fp32's for scale, TF32's the
    # TF32 bounds.
    pytorch = {}
    for name, tf32 in (("fp32", False), ("tf32", True)):
        set_tf32(tf32)
        errors = [rel_error(g, r) for g, r in
                  zip(gradients(copy.deepcopy(model), inputs, grad), reference)]
        pytorch[name] = {"max_rel_error": max(errors), "errors": errors}
    set_tf32(False)
    bounds = {"auto": [max(AUTO_TOLERANCE, TF32_FACTOR * e) for e in pytorch["fp32"]["errors"]],
              "tf32": [TF32_FACTOR * e for e in pytorch["tf32"]["errors"]]}
    check = {}
    for precision in precisions:
        ft.set_precision(precision)
        got = gradients(fused, inputs, grad)
        errors = [rel_error(g, r) for g, r in zip(got, reference)]
        check[precision] = {"max_rel_error": max(errors), "errors": errors,
                            "bounds": bounds[precision],
                            "passed": all(e <= b for e, b in zip(errors, bounds[precision]))}

    # Timing: each variant on its own copy of the starting weights. Setting the precision drops
    # the loaded kernels (they reload from the library's own table): only where it changes.
    current = [None]

    def fused_step(precision):
        step = make_step(copy.deepcopy(fused), inputs, grad)

        def run():
            if current[0] != precision:
                ft.set_precision(precision)
                current[0] = precision
            step()

        return run

    variants = {"eager fp32": (make_step(copy.deepcopy(model), inputs, grad), False)}
    if not args.no_compile:
        variants["compile fp32"] = (make_step(torch.compile(copy.deepcopy(model)), inputs, grad),
                                    False)
    variants["fusetune auto"] = (fused_step("auto"), False)
    variants["eager tf32"] = (make_step(copy.deepcopy(model), inputs, grad), True)
    if "tf32" in precisions:
        variants["fusetune tf32"] = (fused_step("tf32"), True)
    for name, (step, tf32) in variants.items():  # warm up: compiles, first loads, allocations
        set_tf32(tf32)
        for _ in range(args.warmup):
            step()
    torch.cuda.synchronize()
    medians, issue_ms = time_steps(variants, args.runs)
    set_tf32(False)
    pieces = {}
    if args.breakdown:
        spec = next(iter(k for k in ft_specs(fused, inputs)))
        layer = next((m for m in fused.modules() if isinstance(m, torch.nn.Linear)), None)
        for precision in precisions:
            if layer is not None:
                x = inputs[0].reshape(-1, inputs[0].shape[-1])
                pieces[precision] = breakdown(
                    spec, x, layer.weight.detach(), layer.bias.detach(),
                    torch.randn(x.shape[0], layer.weight.shape[0], device="cuda"), args.runs,
                    args.max_candidates, precision)
            else:
                described = fusetune.describe(spec)
                tensors = [inputs[0]] + [torch.randn(t.shape, device="cuda")
                                         for t in described.tensors[1:]]
                pieces[precision] = conv_breakdown(spec, tensors, args.runs, precision)
            print(f"  each kernel alone at {precision}:")
            for name, ms in pieces[precision].items():
                print(f"    {name:<70}{ms:>9.3f} ms")

    speedups = {"auto vs eager fp32": medians["eager fp32"] / medians["fusetune auto"]}
    if "fusetune tf32" in medians:
        speedups["tf32 vs eager tf32"] = medians["eager tf32"] / medians["fusetune tf32"]
    if "compile fp32" in medians:
        speedups["auto vs compile fp32"] = medians["compile fp32"] / medians["fusetune auto"]
    print(f"training step of {args.model_file} on {torch.cuda.get_device_name()}")
    for precision, seconds in tuning.items():
        print(f"  tuning ({precision}, forward and backward): {seconds:.1f} s")
    names = [name for name, _ in model.named_parameters()] + \
        [f"input {i}" for i in range(len(inputs))]
    for precision, reason in not_run.items():
        print(f"  fusetune {precision}: not run: {reason}")
    for precision, c in check.items():
        print(f"  gradients at {precision}: max rel error {c['max_rel_error']:.2e} "
              f"({'ok' if c['passed'] else 'FAILED'}): " +
              ", ".join(f"{n} {e:.1e} (bound {b:.1e})"
                        for n, e, b in zip(names, c["errors"], c["bounds"])))
    for name, p in pytorch.items():
        print(f"  PyTorch's {name} step: " +
              ", ".join(f"{n} {e:.1e}" for n, e in zip(names, p["errors"])))
    print(f"  {'variant':<16}{'median ms':>12}{'CPU issue ms':>14}")
    for name, ms in medians.items():
        print(f"  {name:<16}{ms:>12.3f}{issue_ms[name]:>14.3f}")
    for name, ratio in speedups.items():
        print(f"  {name}: {ratio:.2f}x")
    document = {"model_file": args.model_file, "device": torch.cuda.get_device_name(),
                "torch": torch.__version__, "runs": args.runs, "median_ms": medians, "issue_ms": issue_ms,
                "speedups": speedups, "check": check, "pytorch": pytorch,
                "not_run": not_run,
                "breakdown_ms": pieces,
                "tuning_seconds": tuning}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(document, f, indent=2)
    print(json.dumps(document))
    return 0 if all(c["passed"] for c in check.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
