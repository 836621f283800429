#!/usr/bin/env python3
"""Times fusetune's fused convolution kernels against PyTorch on the same problems.

For each problem of PROBLEMS (a fusetune spec and the equivalent PyTorch model, written as
KernelBench writes it, with PyTorch's default initialisation and extra parameters drawn by
torch.randn), in one command on one GPU:

PyTorch, four baselines, each timed as the median of at least --runs runs and at least --min-ms
of timed runs, after warm-up, with CUDA events around one forward call; before every timed run,
outside the timed region, a 256 MiB buffer is zeroed to flush L2. The input is fresh random
data (torch.rand or torch.randn, as the KernelBench problem draws it; never zeros), made once
per problem and shared by every baseline. Everything runs under torch.no_grad().
  eager, strict fp32     torch.backends.cudnn.allow_tf32 = False, cuda.matmul.allow_tf32 = False
  eager, default         cudnn.allow_tf32 = True (PyTorch's default for convolutions: cuDNN may
                         use TF32), cuda.matmul.allow_tf32 = False (PyTorch's default)
  torch.compile, strict  torch.compile(model), default mode, compiled and run under the strict
  torch.compile, default or the default flags; its first call (the compilation, Inductor's
                         caches off) is timed apart and reported as compile time, never in the
                         timed figure. If torch.compile fails (no Triton, say), it is reported
                         as unavailable, with the reason, and the run goes on.
The flags are restored after each measurement. Each baseline's accuracy is its relative
Frobenius error ||out - ref|| / ||ref|| against an fp64 reference: a deep copy of the model in
float64 (same weights) run on the same input cast to float64.

fusetune, through its CLI in the same command: `fusetune tune SPEC --json` (its wall time is
reported as tuning time), then `fusetune bench SPEC --json`, whose "fusetune" object gives the
kernel's name, median time and relative error (from fusetune's own fp64 verification).

Printed: one table per problem (implementation | median ms | rel. error | fusetune speedup, the
speedup being baseline ms / fusetune ms) and a summary line per problem; with --json, one JSON
document instead. Exit status: 0 when every fusetune run succeeded with rel_err <= 1e-5 (the
fp32-accurate bar of TARGETS.md) and both eager baselines ran; 1 otherwise; 2 for a usage error
or a machine without PyTorch or CUDA.

Usage, from the repository root of a GPU machine with fusetune built:
  python3 bench/torch_conv_bench.py [--problems convt3d_chain,...] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import datetime
import functools
import gc
import json
import math
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

try:
    import torch
    from torch import nn

    _Module = nn.Module
    _TORCH_IMPORT_ERROR = ""
except (ImportError, OSError) as import_error:  # --help and the pure helpers work without it
    torch = None  # type: ignore[assignment]
    nn = None  # type: ignore[assignment]
    _Module = object  # type: ignore[assignment,misc]
    _TORCH_IMPORT_ERROR = f"{type(import_error).__name__}: {import_error}"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FUSETUNE = REPO_ROOT / "build" / "bin" / "fusetune"
FP32_ACCURATE_REL_ERR = 1e-5  # TARGETS.md: the fp32-accurate bar
TF32_REL_ERR = 5e-4  # TARGETS.md: the TF32 bar, for runs with --precision tf32
L2_FLUSH_BYTES = 256 * 1024 * 1024
WARMUP_RUNS = 3
MAX_TIMED_RUNS = 10_000  # a stop for --min-ms with a very fast function
STDERR_TAIL_LINES = 12


# --- The models, as KernelBench (level 2) writes them -------------------------------------------


class ConvTranspose3dLeakyReluMultiplyLeakyReluMax(_Module):
    """KernelBench level 2, 74_ConvTranspose3d_LeakyReLU_Multiply_LeakyReLU_Max."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                 multiplier_shape):
        super().__init__()
        self.conv_transpose = nn.ConvTranspose3d(in_channels, out_channels, kernel_size,
                                                 stride=stride, padding=padding,
                                                 output_padding=output_padding)
        self.multiplier = nn.Parameter(torch.randn(multiplier_shape))
        self.leaky_relu = nn.LeakyReLU(negative_slope=0.2)
        self.max_pool = nn.MaxPool3d(kernel_size=2)

    def forward(self, x):
        x = self.conv_transpose(x)
        x = self.leaky_relu(x)
        x = x * self.multiplier
        x = self.leaky_relu(x)
        x = self.max_pool(x)
        return x


class Conv2dReluBiasAdd(_Module):
    """KernelBench level 2, 1_Conv2D_ReLU_BiasAdd."""

    def __init__(self, in_channels, out_channels, kernel_size, bias_shape):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.bias = nn.Parameter(torch.randn(bias_shape))

    def forward(self, x):
        x = self.conv(x)
        x = torch.relu(x)
        x = x + self.bias
        return x


class Conv2dReluHardSwish(_Module):
    """KernelBench level 2, 57_Conv2d_ReLU_HardSwish (HardSwish written out, as there)."""

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        x = self.conv(x)
        x = torch.relu(x)
        x = x * torch.clamp((x + 3) / 6, 0, 1)
        return x


class ConvTranspose3dSumResidualAddMultiplyResidualAdd(_Module):
    """KernelBench level 2, 20_ConvTranspose3d_Sum_ResidualAdd_Multiply_ResidualAdd."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                 bias_shape):
        super().__init__()
        self.conv_transpose = nn.ConvTranspose3d(in_channels, out_channels, kernel_size,
                                                 stride=stride, padding=padding,
                                                 output_padding=output_padding)
        self.bias = nn.Parameter(torch.randn(bias_shape))

    def forward(self, x):
        x = self.conv_transpose(x)
        original_x = x.clone().detach()
        x = x + self.bias
        x = x + original_x
        x = x * original_x
        x = x + original_x
        return x


class ConvTranspose2dSubtractTanh(_Module):
    """KernelBench level 2, 5_ConvTranspose2d_Subtract_Tanh."""

    def __init__(self, in_channels, out_channels, kernel_size, bias_shape, stride=2, padding=1,
                 output_padding=1):
        super().__init__()
        self.conv_transpose = nn.ConvTranspose2d(in_channels, out_channels, kernel_size,
                                                 stride=stride, padding=padding,
                                                 output_padding=output_padding)
        self.bias = nn.Parameter(torch.randn(bias_shape))

    def forward(self, x):
        x = self.conv_transpose(x)
        x = x - self.bias
        x = torch.tanh(x)
        return x


class Conv3dMishTanh(_Module):
    """KernelBench level 2, 47_Conv3d_Mish_Tanh."""

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size)

    def forward(self, x):
        x = self.conv(x)
        x = torch.nn.functional.mish(x)
        x = torch.tanh(x)
        return x


class Conv2dSubtractHardSwishMaxPoolMish(_Module):
    """KernelBench level 2, 35_Conv2d_Subtract_HardSwish_MaxPool_Mish."""

    def __init__(self, in_channels, out_channels, kernel_size, subtract_value, pool_kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.subtract_value = subtract_value
        self.pool = nn.MaxPool2d(pool_kernel_size)

    def forward(self, x):
        x = self.conv(x)
        x = x - self.subtract_value
        x = torch.nn.functional.hardswish(x)
        x = self.pool(x)
        x = torch.nn.functional.mish(x)
        return x


class Conv2dSubtractTanhSubtractAvgPool(_Module):
    """KernelBench level 2, 46_Conv2d_Subtract_Tanh_Subtract_AvgPool."""

    def __init__(self, in_channels, out_channels, kernel_size, subtract1_value, subtract2_value,
                 kernel_size_pool):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.subtract1_value = subtract1_value
        self.subtract2_value = subtract2_value
        self.avgpool = nn.AvgPool2d(kernel_size_pool)

    def forward(self, x):
        x = self.conv(x)
        x = x - self.subtract1_value
        x = torch.tanh(x)
        x = x - self.subtract2_value
        x = self.avgpool(x)
        return x


# --- The problem table -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Problem:
    """One benchmark problem: a fusetune spec and the PyTorch model that computes the same."""

    name: str
    spec: str
    model_class: type
    init_inputs: tuple  # the model's constructor arguments (KernelBench's get_init_inputs)
    input_shape: tuple[int, ...]
    input_distribution: str = "uniform"  # "uniform" (torch.rand) or "normal" (torch.randn)


PROBLEMS: tuple[Problem, ...] = (
    Problem(
        name="convt3d_chain",
        spec="conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, "
        "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
        "max_pool3d(2)",
        model_class=ConvTranspose3dLeakyReluMultiplyLeakyReluMax,
        init_inputs=(16, 32, 3, 2, 1, 1, (32, 1, 1, 1)),
        input_shape=(16, 16, 16, 32, 32),
    ),
    Problem(
        name="conv2d_relu_biasadd",
        spec="conv2d(n=128, c=64, h=128, w=128, k=128, kernel=3) -> bias -> relu -> add(channel)",
        model_class=Conv2dReluBiasAdd,
        init_inputs=(64, 128, 3, (128, 1, 1)),
        input_shape=(128, 64, 128, 128),
    ),
    Problem(
        name="conv2d_relu_hardswish",
        spec="conv2d(n=128, c=8, h=128, w=128, k=64, kernel=3) -> bias -> relu -> hardswish",
        model_class=Conv2dReluHardSwish,
        init_inputs=(8, 64, 3),
        input_shape=(128, 8, 128, 128),
    ),
    Problem(
        name="convt3d_residual",
        spec="conv_transpose3d(n=16, c=32, d=16, h=32, w=32, k=64, kernel=3, stride=2, padding=1, "
        "output_padding=1) -> bias -> add(channel) -> add(main) -> mul(main) -> add(main)",
        model_class=ConvTranspose3dSumResidualAddMultiplyResidualAdd,
        init_inputs=(32, 64, 3, 2, 1, 1, (64, 1, 1, 1)),
        input_shape=(16, 32, 16, 32, 32),
        input_distribution="normal",
    ),
    Problem(
        name="convt2d_sub_tanh",
        spec="conv_transpose2d(n=32, c=64, h=256, w=256, k=64, kernel=4, stride=2, padding=1, "
        "output_padding=1) -> bias -> sub(channel) -> tanh",
        model_class=ConvTranspose2dSubtractTanh,
        init_inputs=(64, 64, 4, (64, 1, 1)),
        input_shape=(32, 64, 256, 256),
    ),
    Problem(
        name="conv3d_mish_tanh",
        spec="conv3d(n=16, c=32, d=32, h=64, w=64, k=64, kernel=3) -> bias -> mish -> tanh",
        model_class=Conv3dMishTanh,
        init_inputs=(32, 64, 3),
        input_shape=(16, 32, 32, 64, 64),
    ),
    Problem(
        name="conv2d_hardswish_maxpool_mish",
        spec="conv2d(n=128, c=64, h=128, w=128, k=128, kernel=3) -> bias -> sub(0.5) -> "
        "hardswish -> max_pool2d(2) -> mish",
        model_class=Conv2dSubtractHardSwishMaxPoolMish,
        init_inputs=(64, 128, 3, 0.5, 2),
        input_shape=(128, 64, 128, 128),
    ),
    Problem(
        name="conv2d_tanh_avgpool",
        spec="conv2d(n=128, c=64, h=128, w=128, k=128, kernel=3) -> bias -> sub(0.5) -> tanh -> "
        "sub(0.2) -> avg_pool2d(2)",
        model_class=Conv2dSubtractTanhSubtractAvgPool,
        init_inputs=(64, 128, 3, 0.5, 0.2, 2),
        input_shape=(128, 64, 128, 128),
    ),
)


def select_problems(names: str | None, table: Sequence[Problem] = PROBLEMS) -> list[Problem]:
    """The problems named in a comma-separated list, in the list's order; all when names is None.

    Raises ValueError naming the unknown ones and the known ones.
    """
    if not names:
        return list(table)
    by_name = {p.name: p for p in table}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in by_name]
    if unknown or not wanted:
        raise ValueError(f"unknown problem(s) {', '.join(unknown) or repr(names)}; "
                         f"known: {', '.join(by_name)}")
    return [by_name[n] for n in dict.fromkeys(wanted)]


# --- Baselines, ratios and the verdict (pure; no torch needed) ---------------------------------


@dataclasses.dataclass(frozen=True)
class Baseline:
    key: str
    label: str
    compiled: bool
    allow_tf32: bool  # cuDNN's TF32 flag during the measurement


BASELINES: tuple[Baseline, ...] = (
    Baseline("eager_strict", "PyTorch eager, strict fp32", compiled=False, allow_tf32=False),
    Baseline("eager_default", "PyTorch eager, default (TF32)", compiled=False, allow_tf32=True),
    Baseline("compile_strict", "torch.compile, strict fp32", compiled=True, allow_tf32=False),
    Baseline("compile_default", "torch.compile, default (TF32)", compiled=True, allow_tf32=True),
)
SUMMARY_NAMES = {"eager_strict": "strict eager", "eager_default": "default eager",
                 "compile_strict": "compile strict", "compile_default": "compile default"}


@dataclasses.dataclass
class Measurement:
    """One implementation's figures; unavailable says why there are none."""

    median_ms: float | None = None
    fastest_ms: float | None = None
    runs: int = 0
    rel_err: float | None = None
    compile_s: float | None = None
    unavailable: str | None = None


@dataclasses.dataclass
class ProblemResult:
    name: str
    spec: str
    pytorch: dict[str, Measurement] = dataclasses.field(default_factory=dict)
    fusetune: dict[str, Any] | None = None  # run_fusetune's result
    fusetune_error: str | None = None
    speedups: dict[str, float | None] = dataclasses.field(default_factory=dict)
    ok: bool = False
    problems: list[str] = dataclasses.field(default_factory=list)  # why not ok


def speedups(fusetune_ms: float | None,
             baseline_ms: Mapping[str, float | None]) -> dict[str, float | None]:
    """Baseline time / fusetune time for each baseline; None where either time is missing."""
    def ratio(ms: float | None) -> float | None:
        if fusetune_ms is None or ms is None or not fusetune_ms > 0:
            return None
        return ms / fusetune_ms
    return {key: ratio(ms) for key, ms in baseline_ms.items()}


def verdict(fusetune: Mapping[str, Any] | None, fusetune_error: str | None,
            pytorch: Mapping[str, Measurement], bar: float = FP32_ACCURATE_REL_ERR,
            eager: Sequence[str] = ("eager_strict", "eager_default")) -> list[str]:
    """Why a problem failed: fusetune failed or missed its accuracy bar (fp32-accurate, or
    TF32's for a TF32 run), or an eager baseline could not run (torch.compile being unavailable
    is not a failure). Empty: passed."""
    reasons: list[str] = []
    if fusetune is None:
        reasons.append(fusetune_error or "fusetune: no result")
    else:
        rel_err = fusetune.get("rel_err")
        if rel_err is None or not math.isfinite(rel_err):
            reasons.append(f"fusetune reported no finite rel_err ({rel_err})")
        elif rel_err > bar:
            reasons.append(f"fusetune rel_err {rel_err:.1e} above the bar {bar:.0e}")
    for key in eager:
        m = pytorch.get(key)
        if m is None or m.median_ms is None:
            reasons.append(f"{key} failed: {m.unavailable if m else 'not run'}")
    return reasons


def exit_status(results: Sequence[ProblemResult]) -> int:
    return 0 if results and all(r.ok for r in results) else 1


def format_ratio(ratio: float | None) -> str:
    return f"{ratio:.2f}x" if ratio is not None else "n/a"


def format_ms(ms: float | None) -> str:
    return f"{ms:.3f}" if ms is not None else "-"


def format_error(rel_err: float | None) -> str:
    return f"{rel_err:.1e}" if rel_err is not None else "-"


def summary_line(result: ProblemResult) -> str:
    """One line: the speedup against each baseline, or why the problem failed."""
    if result.fusetune is None:
        return f"{result.name}: FAILED, {_brief(result.problems[0] if result.problems else '')}"
    ratios = ", ".join(f"{format_ratio(result.speedups.get(key))} {label}"
                       for key, label in SUMMARY_NAMES.items())
    status = "ok" if result.ok else "FAILED: " + "; ".join(map(_brief, result.problems))
    rel_err = format_error(result.fusetune.get("rel_err"))
    return f"{result.name}: fusetune {ratios} (rel_err {rel_err}; {status})"


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    def line(row: Sequence[str]) -> str:
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def problem_report(result: ProblemResult) -> str:
    """The per-problem table and its notes (compile and tuning times, failures)."""
    rows, notes = [], []
    for b in BASELINES:
        m = result.pytorch.get(b.key, Measurement(unavailable="not run"))
        if m.median_ms is None:
            rows.append([b.label, "-", "-", "unavailable"])
            notes.append(f"{b.label}: unavailable, {m.unavailable}")
            continue
        rows.append([b.label, format_ms(m.median_ms), format_error(m.rel_err),
                     format_ratio(result.speedups.get(b.key))])
    if result.fusetune is not None:
        ft = result.fusetune
        rows.append([f"fusetune {ft.get('kernel', '?')}", format_ms(ft.get("median_ms")),
                     format_error(ft.get("rel_err")), "-"])
        cached = " (from the tuning database)" if ft.get("from_cache") else ""
        notes.append(f"tuning: {ft.get('tune_s', 0.0):.1f} s{cached}")
        if ft.get("tuned") is False:
            notes.append("fusetune bench ran an untuned default configuration")
    else:
        rows.append(["fusetune", "-", "-", "FAILED"])
        notes.append("fusetune failed:\n" + _indent(result.fusetune_error or "no result"))
    compiles = [f"{'default' if b.allow_tf32 else 'strict'} {m.compile_s:.1f} s"
                for b in BASELINES if b.compiled
                for m in [result.pytorch.get(b.key)] if m and m.compile_s is not None]
    if compiles:
        notes.insert(0, "torch.compile time: " + ", ".join(compiles))
    table = render_table(["implementation", "median ms", "rel. error", "fusetune speedup"], rows)
    return "\n".join([f"{result.name}: {result.spec}", table, *notes])


def _brief(text: str) -> str:
    """A message's first line, and its last where there are more (the cause, in a stderr tail)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[:1] + lines[-1:] if len(lines) > 1 else lines)


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- fusetune through its CLI ------------------------------------------------------------------


class FusetuneError(RuntimeError):
    """The fusetune CLI failed or printed no usable result; the message says which and why."""


def extract_json(text: str) -> Any:
    """The JSON document in a command's output, tolerating lines printed before or after it."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for start, char in enumerate(text):
        if char in "{[":
            try:
                return decoder.raw_decode(text, start)[0]
            except ValueError:
                continue
    raise FusetuneError(f"no JSON in the output:\n{_tail(text)}")


def parse_bench_json(document: Any) -> dict[str, Any]:
    """The fusetune side of a `fusetune bench --json` document.

    Expects {"fusetune": {"name", "median_ms", "rel_err", ...}, "tuned": bool, "baseline": {...}};
    falls back to the top level if there is no "fusetune" object, and to the first element of a
    list. Raises FusetuneError if there is no positive, finite median_ms.
    """
    if isinstance(document, list) and document:
        document = document[0]
    if not isinstance(document, dict):
        raise FusetuneError(f"bench JSON is not an object: {str(document)[:200]}")
    side = document.get("fusetune")
    side = side if isinstance(side, dict) else document
    median_ms = _number(side.get("median_ms"))
    if median_ms is None or not median_ms > 0:
        raise FusetuneError(f"bench JSON has no usable fusetune median_ms: {str(side)[:300]}")
    result: dict[str, Any] = {
        "median_ms": median_ms,
        "rel_err": _number(side.get("rel_err")),
        "kernel": str(side.get("name") or side.get("kernel") or "?"),
    }
    if isinstance(document.get("tuned"), bool):
        result["tuned"] = document["tuned"]
    baseline = document.get("baseline")
    if isinstance(baseline, dict) and _number(baseline.get("median_ms")) is not None:
        result["cli_baseline"] = {"name": baseline.get("name"),
                                  "median_ms": _number(baseline.get("median_ms")),
                                  "rel_err": _number(baseline.get("rel_err"))}
    return result


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _run_cli(command: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess:
    what = f"fusetune {command[1]}"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError:
        raise FusetuneError(f"{command[0]} not found (build fusetune, or pass --fusetune PATH)") \
            from None
    except PermissionError:
        raise FusetuneError(f"{command[0]} is not executable") from None
    except subprocess.TimeoutExpired as expired:
        stderr = expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes) \
            else (expired.stderr or "")
        raise FusetuneError(f"{what} timed out after {timeout_s:.0f} s\n{_tail(stderr)}") \
            from None
    if done.returncode != 0:
        raise FusetuneError(f"{what} exited {done.returncode}:\n"
                            f"{_tail(done.stderr or done.stdout)}")
    return done


def tune_options(args: argparse.Namespace) -> list[str]:
    """The options of `fusetune tune` alone: --force, --max-candidates."""
    options = ["--force"] if args.force_tune else []
    if args.max_candidates > 0:
        options += ["--max-candidates", str(args.max_candidates)]
    return options


def run_fusetune(binary: str, spec: str, *, options: Sequence[str] = (),
                 tune_options: Sequence[str] = (), timeout_s: float = 3600) -> dict[str, Any]:
    """Tunes spec with the fusetune CLI, then benchmarks it.

    Returns {"median_ms", "rel_err", "kernel", "tune_s"} (tune_s: the tune command's wall time),
    plus "from_cache" (the tune came from the database), "tuned" and "cli_baseline" (the CLI's
    own baseline) where the CLI reports them. options go to both commands, tune_options to tune.
    Raises FusetuneError with the last lines of stderr if a command fails.
    """
    start = time.perf_counter()
    tune = _run_cli([binary, "tune", spec, "--json", *options, *tune_options], timeout_s)
    tune_s = time.perf_counter() - start
    bench = _run_cli([binary, "bench", spec, "--json", *options], timeout_s)
    result = parse_bench_json(extract_json(bench.stdout))
    result["tune_s"] = tune_s
    with contextlib.suppress(FusetuneError):
        tune_doc = extract_json(tune.stdout)
        if isinstance(tune_doc, dict) and isinstance(tune_doc.get("from_cache"), bool):
            result["from_cache"] = tune_doc["from_cache"]
    return result


# --- PyTorch measurements ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TimingOptions:
    runs: int
    min_ms: float
    with_compile: bool
    default_flags_only: bool = False  # --flags default: the strict-fp32 baselines skipped


@contextlib.contextmanager
def _quiet_tf32_notice() -> Iterator[None]:
    # PyTorch >= 2.9 warns that the allow_tf32 flags will be deprecated; they still work.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*TF32.*")
        yield


@contextlib.contextmanager
def tf32_flags(allow_tf32_convolutions: bool) -> Iterator[None]:
    """Sets cuDNN's TF32 flag as given and cuBLAS's to False for the block; restores both."""
    with _quiet_tf32_notice():
        saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
        torch.backends.cudnn.allow_tf32 = allow_tf32_convolutions
        torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        with _quiet_tf32_notice():
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def time_cuda(fn: Callable[[], Any], flush: "torch.Tensor", runs: int,
              min_ms: float) -> tuple[float, float, int]:
    """(median ms, fastest ms, runs) of fn, timed with CUDA events after WARMUP_RUNS calls, until
    at least `runs` runs and `min_ms` of timed time; L2 flushed before each run, untimed."""
    for _ in range(WARMUP_RUNS):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times: list[float] = []
    while (len(times) < runs or sum(times) < min_ms) and len(times) < MAX_TIMED_RUNS:
        flush.zero_()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times), min(times), len(times)


def relative_error(out: "torch.Tensor", ref: "torch.Tensor") -> float:
    """||out - ref|| / ||ref|| (Frobenius), in float64; NaN if out has a NaN."""
    if out.shape != ref.shape:
        raise ValueError(f"output shape {tuple(out.shape)} != reference {tuple(ref.shape)}")
    diff = out.to(torch.float64).sub_(ref)
    return float(torch.linalg.vector_norm(diff) / torch.linalg.vector_norm(ref))


def _describe(error: BaseException, limit: int = 400) -> str:
    # torch.compile's errors name the backend on their first line and the cause on the next.
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = f"{type(error).__name__}: {' '.join(lines[:3])}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_call(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return out, time.perf_counter() - start


@contextlib.contextmanager
def _inductor_caches_off() -> Iterator[None]:
    """Inductor with its caches off, so that every compile time is a cold one (where PyTorch has
    the option; Triton's own kernel cache stays as found)."""
    import torch._inductor.config as inductor_config

    if not hasattr(inductor_config, "force_disable_caches"):
        yield
        return
    with inductor_config.patch(force_disable_caches=True), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*force_disable_caches")  # a notice, per call
        yield


def _first_output(model: "nn.Module", x: "torch.Tensor",
                  compiled: bool) -> tuple[Callable[[], Any], Any, float | None]:
    """(the function to time, its first output, compile seconds or None for eager)."""
    if not compiled:
        fn = functools.partial(model, x)
        return fn, fn(), None
    torch._dynamo.reset()  # compile afresh, under the flags in force now
    fn = functools.partial(torch.compile(model), x)
    with _inductor_caches_off():
        out, compile_s = _first_call(fn)
    return fn, out, compile_s


def measure_baseline(model: "nn.Module", x: "torch.Tensor", ref: "torch.Tensor",
                     baseline: Baseline, flush: "torch.Tensor",
                     timing: TimingOptions) -> Measurement:
    """One baseline's error against ref and its time; a failure becomes `unavailable`."""
    measurement = Measurement()
    with tf32_flags(baseline.allow_tf32), torch.no_grad():
        try:
            fn, out, measurement.compile_s = _first_output(model, x, baseline.compiled)
            measurement.rel_err = relative_error(out, ref)
            del out
            measurement.median_ms, measurement.fastest_ms, measurement.runs = time_cuda(
                fn, flush, timing.runs, timing.min_ms)
        except Exception as error:  # noqa: BLE001 - reported, and the next baseline runs
            return Measurement(unavailable=_describe(error))
        finally:
            if baseline.compiled:
                torch._dynamo.reset()
    return measurement


def make_inputs(problem: Problem, seed: int) -> tuple["nn.Module", "torch.Tensor"]:
    """The model (default init, seeded, built on the CPU as KernelBench does) and its input."""
    torch.manual_seed(seed)
    model = problem.model_class(*problem.init_inputs).cuda()
    draw = torch.randn if problem.input_distribution == "normal" else torch.rand
    return model, draw(problem.input_shape, device="cuda")


def reference_output(model: "nn.Module", x: "torch.Tensor") -> "torch.Tensor":
    """The model's output in float64: a deep copy with the same weights, on x in float64."""
    with torch.no_grad():
        return copy.deepcopy(model).double()(x.double())


def measure_pytorch(problem: Problem, flush: "torch.Tensor", timing: TimingOptions,
                    seed: int) -> dict[str, Measurement]:
    model, x = make_inputs(problem, seed)
    ref = reference_output(model, x)
    results = {}
    for baseline in BASELINES:
        if baseline.compiled and not timing.with_compile:
            results[baseline.key] = Measurement(unavailable="skipped (--no-compile)")
            continue
        if not baseline.allow_tf32 and timing.default_flags_only:
            results[baseline.key] = Measurement(unavailable="skipped (--flags default)")
            continue
        _progress(f"[{problem.name}] {baseline.label}")
        results[baseline.key] = measure_baseline(model, x, ref, baseline, flush, timing)
    del model, x, ref
    _release_gpu_memory()
    return results


def _release_gpu_memory() -> None:
    gc.collect()
    torch.cuda.empty_cache()


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- The run -----------------------------------------------------------------------------------


def run_problem(problem: Problem, flush: "torch.Tensor",
                args: argparse.Namespace) -> ProblemResult:
    timing = TimingOptions(runs=args.runs, min_ms=args.min_ms, with_compile=not args.no_compile,
                           default_flags_only=args.flags == "default")
    result = ProblemResult(name=problem.name, spec=problem.spec)
    result.pytorch = measure_pytorch(problem, flush, timing, args.seed)
    _progress(f"[{problem.name}] fusetune tune + bench")
    try:
        result.fusetune = run_fusetune(args.fusetune, problem.spec, options=_cli_options(args),
                                       tune_options=tune_options(args),
                                       timeout_s=args.cli_timeout)
    except FusetuneError as error:
        result.fusetune_error = str(error)
    fusetune_ms = result.fusetune["median_ms"] if result.fusetune else None
    result.speedups = speedups(fusetune_ms, {k: m.median_ms for k, m in result.pytorch.items()})
    bar = TF32_REL_ERR if args.precision == "tf32" else FP32_ACCURATE_REL_ERR
    result.problems = verdict(result.fusetune, result.fusetune_error, result.pytorch, bar,
                              eager=("eager_default",) if args.flags == "default"
                              else ("eager_strict", "eager_default"))
    result.ok = not result.problems
    return result


def _cli_options(args: argparse.Namespace) -> list[str]:
    options = []
    if args.db:
        options += ["--db", args.db]
    if args.precision:
        options += ["--precision", args.precision]
    return options


def environment(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version(),
        "gpu": torch.cuda.get_device_name(),
        "fusetune_binary": str(args.fusetune),
        "method": {
            "timer": "CUDA events around one forward call, median",
            "min_runs": args.runs,
            "min_timed_ms": args.min_ms,
            "warmup_runs": WARMUP_RUNS,
            "l2_flush_bytes": L2_FLUSH_BYTES,
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "rel_err": "||out - ref||_F / ||ref||_F against the model in float64",
            "fp32_accurate_bar": FP32_ACCURATE_REL_ERR,
        },
    }


def _finite_or_none(value: Any) -> Any:
    """JSON without NaN or infinity (which strict parsers refuse): those become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    return value


def json_document(env: Mapping[str, Any], results: Sequence[ProblemResult]) -> str:
    document = {**env, "ok": exit_status(results) == 0,
                "problems": [dataclasses.asdict(r) for r in results]}
    return json.dumps(_finite_or_none(document), indent=2)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time fusetune's fused convolution kernels against PyTorch (eager and "
                    "torch.compile, strict fp32 and default TF32) on the same problems.",
        epilog="problems: " + ", ".join(p.name for p in PROBLEMS))
    parser.add_argument("--problems", help="comma-separated problem names (default: all)")
    parser.add_argument("--fusetune", default=str(DEFAULT_FUSETUNE),
                        help="the fusetune binary (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=20,
                        help="at least this many timed runs per measurement (default: %(default)s)")
    parser.add_argument("--min-ms", type=float, default=100.0,
                        help="and at least this much timed time (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the torch.compile baselines")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and inputs")
    parser.add_argument("--db", help="fusetune's tuning database (default: the CLI's)")
    parser.add_argument("--precision",
                        help="passed to fusetune tune and bench (default: the CLI's)")
    parser.add_argument("--force-tune", action="store_true",
                        help="tune again even if the database has a result (tune --force)")
    parser.add_argument("--flags", choices=("both", "default"), default="both",
                        help="the baselines' flags: strict fp32 and PyTorch's defaults (both), or "
                        "the defaults alone")
    parser.add_argument("--max-candidates", type=int, default=0,
                        help="at most this many candidates per tuning sweep (default: all)")
    parser.add_argument("--cli-timeout", type=float, default=3600.0,
                        help="seconds each fusetune command may run (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.min_ms < 0:
        parser.error("--runs must be at least 1 and --min-ms not negative")
    try:
        args.selected = select_problems(args.problems)
    except ValueError as error:
        parser.error(str(error))
    return args


def missing_requirement() -> str | None:
    """Why this machine cannot run the benchmark, or None."""
    if torch is None:
        return f"PyTorch is not installed or does not load ({_TORCH_IMPORT_ERROR})"
    if not torch.cuda.is_available():
        return f"CUDA is not available to PyTorch {torch.__version__} (no GPU or no driver?)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    reason = missing_requirement()
    if reason:
        print(f"torch_conv_bench: {reason}; it needs a GPU machine with PyTorch.", file=sys.stderr)
        return 2
    env = environment(args)
    flush = torch.empty(L2_FLUSH_BYTES // 4, dtype=torch.float32, device="cuda")
    results = []
    for problem in args.selected:
        results.append(run_problem(problem, flush, args))
        if not args.json:
            print(problem_report(results[-1]) + "\n", flush=True)
    if args.json:
        print(json_document(env, results))
    else:
        print(f"{env['gpu']}, PyTorch {env['torch_version']}, CUDA {env['cuda_version']}, "
              f"{env['date']}; speedup = baseline ms / fusetune ms, same command")
        for result in results:
            print(summary_line(result))
    return exit_status(results)


if __name__ == "__main__":
    sys.exit(main())
