#!/usr/bin/env python3
"""Checks and times a KernelBench-style model file: its ModelNew (fusetune) against its Model.

MODULE.py defines Model, ModelNew (same __init__ arguments and parameters), get_inputs() and
get_init_inputs(), as KernelBench's level 1-3 problems do. On one CUDA GPU, in one command:

Setup    Model and ModelNew are built from get_init_inputs() after the same torch.manual_seed,
         moved to CUDA and put in eval mode (--train-mode: training mode); ModelNew loads
         Model's state_dict, so both compute with the same weights (a mismatch of keys or
         shapes fails the check). The model file's folder goes first on sys.path, as for a
         script Python runs, so that the file may import a helper beside it.
Tuning   ft.tune(ModelNew, *inputs) tunes every fusetune call ModelNew makes (or recalls it from
         the tuning database), before anything is timed; its wall time is reported apart.
Check    over --trials fresh inputs from get_inputs() (one seed per trial), under no_grad,
         against Model run in strict fp32 (TF32 off: PyTorch's exact answer, not its TF32
         rounding): torch.allclose(new, ref, atol=1e-4, rtol=1e-4), the max abs diff and the max rel diff
         (|new - ref| / max(|ref|, atol)). As context, each output's relative Frobenius error
         ||out - ref64|| / ||ref64|| against a float64 copy of Model on the inputs in float64.
Timing   only when the check passed (or with --time-anyway): eager Model, torch.compile(Model),
         ModelNew and torch.compile(ModelNew, fullgraph=True). Each is called once (a compile's
         first call is reported as its compile time) and WARMUP_CALLS more times; then --runs
         rounds, each timing every implementation once in turn (A B C D, A B C D, ...), so that
         drift touches all alike. One run: zero a 256 MiB buffer to flush L2 (untimed), then
         CUDA events around one forward call. Reported: median, min and p90 per implementation,
         speedups = baseline median / median. Inputs: get_inputs() on CUDA, under no_grad.
PyTorch's TF32 flags stay as found (reported) unless --strict-fp32 turns both off.
--train-mode keeps Model and ModelNew (and the float64 copy) in training mode, as KernelBench
runs fresh modules, still under no_grad: batch_norm then normalizes by each batch's statistics,
so the outputs compare alike, and every call of each model updates that model's own running
statistics (Model's by PyTorch, ModelNew's by its kernel), which the check does not compare.

Prints the tuning reports, the check, a table, then the JSON document as the last line of
stdout (also written to --json PATH). Exit status: 0 when the check passed, 1 when it failed,
2 for a usage error (no such file, no CUDA GPU, fusetune not importable).

Usage, from the repository root of a GPU machine:
  PYTHONPATH=python python3 bench/kernelbench_eval.py examples/kernelbench/gemm_mul_leaky.py
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import importlib
import importlib.util
import json
import math
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

try:
    import torch
except ImportError:  # --help works without it
    torch = None  # type: ignore[assignment]

REPO_ROOT = Path(__file__).resolve().parent.parent
L2_FLUSH_BYTES = 256 * 1024 * 1024
WARMUP_CALLS = 3
ATOL = RTOL = 1e-4
IMPLEMENTATIONS = {"eager": "Model, eager", "compile": "torch.compile(Model)",
                   "fusetune": "ModelNew (fusetune)",
                   "fusetune_compiled": "torch.compile(ModelNew, fullgraph)"}


class UsageError(Exception):
    """The run cannot start (exit status 2); the message says why."""


class CheckFailed(Exception):
    """The check failed before its trials (exit status 1); the message says why."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Check a KernelBench model file's ModelNew against its Model, then time "
                    "both (eager and torch.compile). See the header of this file for the method.")
    add = parser.add_argument
    add("module", help="the model file (Model, ModelNew, get_inputs, get_init_inputs)")
    add("--trials", type=int, default=5, help="correctness trials (default: %(default)s)")
    add("--runs", type=int, default=100, help="timed runs each (default: %(default)s)")
    add("--seed", type=int, default=42, help="seed of weights and inputs (default: %(default)s)")
    add("--precision", help="ModelNew's calls' precision, tuned and loaded (ft.set_precision; "
        "default: torch, which follows PyTorch's TF32 switches as found)")
    add("--tolerance", type=float, help="with --precision: auto's tolerance (default: fusetune's)")
    add("--max-candidates", type=int, default=0, help="passed to ft.tune (0: all)")
    add("--force-tune", action="store_true", help="tune again even if the database has results")
    add("--database", help="fusetune's tuning database (sets FUSETUNE_DB)")
    add("--compile-mode", default="default", help="torch.compile's mode (default: %(default)s)")
    add("--no-compile", action="store_true", help="skip both torch.compile implementations")
    add("--time-anyway", action="store_true", help="time even when the check failed")
    add("--strict-fp32", action="store_true",
        help="set torch.backends.cuda.matmul.allow_tf32 and cudnn.allow_tf32 to False")
    add("--train-mode", action="store_true",
        help="keep both models in training mode (batch_norm uses batch statistics)")
    add("--json", metavar="PATH", help="also write the JSON document to PATH")
    args = parser.parse_args(argv)
    if args.trials < 1 or args.runs < 1 or args.max_candidates < 0:
        parser.error("--trials and --runs must be at least 1, --max-candidates not negative")
    return args


# --- Setup -------------------------------------------------------------------------------------


def import_fusetune(database: str | None) -> tuple[Any, Any]:
    """fusetune and fusetune.torch, from <repo>/python when not installed; FUSETUNE_DB set first."""
    if database:
        os.environ["FUSETUNE_DB"] = database
    try:
        importlib.import_module("fusetune")
    except ImportError:
        sys.path.insert(0, str(REPO_ROOT / "python"))
    try:
        return importlib.import_module("fusetune"), importlib.import_module("fusetune.torch")
    except (ImportError, OSError) as error:
        raise UsageError(f"cannot import fusetune.torch ({error}); build it, or set "
                         "PYTHONPATH=python") from error


def load_model_file(path: str) -> Any:
    """The model file as a module, its folder first on sys.path as for a script Python runs;
    raises UsageError if it does not load or lacks a name."""
    sys.path.insert(0, str(Path(path).resolve().parent))
    spec = importlib.util.spec_from_file_location("kernelbench_model", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - any failure to load is the file's
        raise UsageError(f"{path} does not load: {type(error).__name__}: {error}") from error
    missing = [n for n in ("Model", "ModelNew", "get_inputs", "get_init_inputs")
               if not hasattr(module, n)]
    if missing:
        raise UsageError(f"{path} does not define {', '.join(missing)}")
    return module


def tf32_settings(strict: bool) -> dict[str, Any]:
    """PyTorch's TF32 flags as found, or both set to False first with strict."""
    with warnings.catch_warnings():  # PyTorch >= 2.9 warns of the flags' deprecation
        warnings.simplefilter("ignore")
        if strict:
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        return {"strict_fp32": strict,
                "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
                "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32}


def state_dict_mismatch(model: torch.nn.Module, new: torch.nn.Module) -> list[str]:
    """Why Model's state_dict does not load into ModelNew; empty when it does."""
    ref, ours = model.state_dict(), new.state_dict()
    problems = [f"ModelNew lacks {k}" for k in ref if k not in ours]
    problems += [f"ModelNew has {k}, Model does not" for k in ours if k not in ref]
    problems += [f"{k}: Model {tuple(ref[k].shape)}, ModelNew {tuple(ours[k].shape)}"
                 for k in ref if k in ours and ref[k].shape != ours[k].shape]
    return problems


def build_models(module: Any, seed: int,
                 training: bool) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Model and ModelNew on CUDA with Model's weights, in training or eval mode; raises
    CheckFailed on a mismatch."""
    torch.manual_seed(seed)
    model = module.Model(*module.get_init_inputs()).cuda().train(training)
    torch.manual_seed(seed)
    new = module.ModelNew(*module.get_init_inputs()).cuda().train(training)
    problems = state_dict_mismatch(model, new)
    if problems:
        raise CheckFailed("state_dicts differ: " + "; ".join(problems))
    new.load_state_dict(model.state_dict())
    return model, new


def cuda_inputs(module: Any, seed: int) -> list[Any]:
    torch.manual_seed(seed)
    return [x.cuda() if isinstance(x, torch.Tensor) else x for x in module.get_inputs()]


def as_float64(inputs: list[Any]) -> list[Any]:
    return [x.double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x
            for x in inputs]


# --- Tuning and the check ----------------------------------------------------------------------


def tune(ft: Any, new: "torch.nn.Module", inputs: list[Any],
         args: argparse.Namespace) -> tuple[list[dict], float]:
    """(ft.tune's reports, its wall seconds); printed as they come back."""
    start = time.perf_counter()
    reports = ft.tune(new, *inputs, precision=args.precision, tolerance=args.tolerance,
                      force=args.force_tune, max_candidates=args.max_candidates)
    seconds = time.perf_counter() - start
    for r in reports:
        cached = "from the database" if r.get("from_cache") else \
            f"tuned in {number(r.get('tuning_seconds'), '.1f')} s"
        print(f"{r.get('spec')}\n  precision {r.get('precision')}, config {r.get('config')}, "
              f"{number(r.get('time_ms'), '.3f')} ms, rel_err {number(r.get('rel_err'), '.1e')}, "
              f"{cached}")
    print(f"tuning: {seconds:.2f} s for {len(reports)} spec(s)")
    return reports, seconds


def number(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) else str(value)


def tensors(out: Any) -> list[torch.Tensor]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def rel_frobenius(out: torch.Tensor, ref64: torch.Tensor) -> float:
    diff = out.double() - ref64
    return float(torch.linalg.vector_norm(diff) / torch.linalg.vector_norm(ref64))


def compare(new: torch.Tensor, ref: torch.Tensor, ref64: torch.Tensor) -> dict[str, Any]:
    """One output pair: allclose, max abs and rel diffs, and both errors against float64."""
    if new.shape != ref.shape or new.dtype != ref.dtype:
        return {"ok": False, "error": f"ModelNew gives {new.dtype} {tuple(new.shape)}, "
                                      f"Model {ref.dtype} {tuple(ref.shape)}"}
    diff = (new.double() - ref.double()).abs()
    return {"ok": bool(torch.allclose(new, ref, atol=ATOL, rtol=RTOL)),
            "max_abs_diff": float(diff.max()),
            "max_rel_diff": float((diff / ref.double().abs().clamp_min(ATOL)).max()),
            "rel_err_fp64_new": rel_frobenius(new, ref64),
            "rel_err_fp64_ref": rel_frobenius(ref, ref64)}


@contextlib.contextmanager
def strict_fp32():
    """PyTorch's TF32 flags off for the block, restored after."""
    with warnings.catch_warnings():  # PyTorch >= 2.9 warns of the flags' deprecation
        warnings.simplefilter("ignore")
        saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def trial(models: tuple, module: Any, seed: int) -> dict[str, Any]:
    """One trial on fresh inputs: Model (in strict fp32: the check is against PyTorch's exact
    fp32 answer, not its TF32 rounding, whose own error at default settings can exceed the
    tolerance), ModelNew and the float64 copy of Model."""
    model, new, model64 = models
    inputs = cuda_inputs(module, seed)
    try:
        with torch.no_grad():
            with strict_fp32():
                refs = tensors(model(*inputs))
            news = tensors(new(*inputs))
            refs64 = tensors(model64(*as_float64(inputs)))
    except Exception as error:  # noqa: BLE001 - a crash fails the trial, with its message
        return {"seed": seed, "ok": False, "error": f"{type(error).__name__}: {error}"}
    if len(news) != len(refs):
        return {"seed": seed, "ok": False, "error": f"{len(news)} outputs, Model {len(refs)}"}
    outputs = [compare(a, b, c) for a, b, c in zip(news, refs, refs64)]
    return {"seed": seed, "ok": all(o["ok"] for o in outputs), "outputs": outputs}


def check(model, new, module: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    model64 = copy.deepcopy(model).double()
    trials = [trial((model, new, model64), module, args.seed + 1 + i) for i in range(args.trials)]
    for t in trials:
        print(f"trial seed {t['seed']}: {'ok' if t['ok'] else 'FAILED'}")
        if "error" in t:
            print(f"  {t['error']}")
        for o in t.get("outputs", []):
            print("  " + (o["error"] if "error" in o else
                          f"max abs diff {o['max_abs_diff']:.2e}, max rel diff "
                          f"{o['max_rel_diff']:.2e}; rel. error vs fp64: ModelNew "
                          f"{o['rel_err_fp64_new']:.1e}, Model {o['rel_err_fp64_ref']:.1e}"))
    del model64
    torch.cuda.empty_cache()
    return trials


# --- Timing ------------------------------------------------------------------------------------


def prepare(name: str, make: Callable[[], Callable[[], Any]]) -> dict[str, Any]:
    """make()'s function, called once (timed: a compile's compile time) and WARMUP_CALLS more
    times; a failure is kept as the implementation's error."""
    entry: dict[str, Any] = {"name": name}
    try:
        start = time.perf_counter()
        entry["fn"] = make()
        entry["fn"]()
        torch.cuda.synchronize()
        entry["first_call_s"] = time.perf_counter() - start
        for _ in range(WARMUP_CALLS):
            entry["fn"]()
        torch.cuda.synchronize()
    except Exception as error:  # noqa: BLE001 - reported, and the others are timed
        lines = [line for line in str(error).splitlines() if line.strip()]
        entry["error"] = f"{type(error).__name__}: {' '.join(lines[:4])}"[:600]
    return entry


def implementations(model, new, inputs: list[Any], args: argparse.Namespace) -> list[dict]:
    """The implementations to time, prepared, in IMPLEMENTATIONS' order."""
    makers = {"eager": lambda: functools.partial(model, *inputs),
              "fusetune": lambda: functools.partial(new, *inputs)}
    if not args.no_compile:
        mode = args.compile_mode
        makers["compile"] = lambda: functools.partial(torch.compile(model, mode=mode), *inputs)
        makers["fusetune_compiled"] = lambda: functools.partial(
            torch.compile(new, mode=mode, fullgraph=True), *inputs)
    return [prepare(name, makers[name]) for name in IMPLEMENTATIONS if name in makers]


def time_rounds(entries: list[dict], runs: int) -> None:
    """runs rounds, each timing every ready implementation once in turn; fills entry['times']."""
    ready = [e for e in entries if "error" not in e]
    flush = torch.empty(L2_FLUSH_BYTES, dtype=torch.uint8, device="cuda")
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for e in ready:
        e["times"] = []
    torch.cuda.synchronize()
    for _ in range(runs):
        for e in ready:
            flush.zero_()
            start.record()
            e["fn"]()
            end.record()
            end.synchronize()
            e["times"].append(start.elapsed_time(end))
    del flush


def time_all(model, new, module: Any, args: argparse.Namespace) -> dict[str, dict]:
    """{name: {median_ms, min_ms, p90_ms, first_call_s} or {error}} for each implementation."""
    inputs = cuda_inputs(module, args.seed)
    print(f"timing: warm-up, then {args.runs} rounds", file=sys.stderr, flush=True)
    with torch.no_grad():
        entries = implementations(model, new, inputs, args)
        time_rounds(entries, args.runs)
    results = {}
    for e in entries:
        if "error" in e:
            results[e["name"]] = {"error": e["error"]}
            continue
        times = e["times"]
        p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]
        results[e["name"]] = {"median_ms": statistics.median(times), "min_ms": min(times),
                              "p90_ms": p90, "first_call_s": e["first_call_s"]}
    return results


# --- The report --------------------------------------------------------------------------------


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator and denominator else None


def print_table(timing: dict[str, dict]) -> None:
    """The timings as a table, then compile times and why an implementation has no time."""
    eager, compiled = (timing.get(k, {}).get("median_ms") for k in ("eager", "compile"))
    header = ["implementation", "median ms", "min ms", "p90 ms", "vs eager", "vs compile"]
    rows, compiles, notes = [header], [], []
    for name, label in IMPLEMENTATIONS.items():
        t = timing.get(name, {"error": "skipped (--no-compile)"})
        if "error" in t:
            rows.append([label, *["-"] * 5])
            notes.append(f"{label}: not timed, {t['error']}")
            continue
        speedups = [ratio(eager, t["median_ms"]), ratio(compiled, t["median_ms"])]
        rows.append([label, *(f"{t[k]:.3f}" for k in ("median_ms", "min_ms", "p90_ms")),
                     *(f"{s:.2f}x" if s else "-" for s in speedups)])
        if "compile" in name:
            compiles.append(f"{label}: compile (first call) {t['first_call_s']:.1f} s")
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    print("\n".join(compiles + notes))


def finite(value: Any) -> Any:
    """JSON without NaN or infinity (strict parsers refuse them): those become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def fusetune_version(fusetune: Any) -> str | None:
    try:
        return str(fusetune.version())
    except Exception:  # noqa: BLE001 - the version is context, not a requirement
        return None


def tf32_hint(trials: list[dict], settings: dict[str, Any]) -> None:
    """Says so when the check failed against a reference that itself ran with TF32."""
    errors = [o.get("rel_err_fp64_ref", 0.0) for t in trials for o in t.get("outputs", [])]
    tf32 = settings["cuda.matmul.allow_tf32"] or settings["cudnn.allow_tf32"]
    if tf32 and errors and max(errors) > 1e-5:
        print(f"note: Model ran with TF32 (rel. error vs fp64 up to {max(errors):.1e}); "
              "--strict-fp32 compares against fp32 instead")


# --- The run -----------------------------------------------------------------------------------


def run_check(ft: Any, module: Any, args: argparse.Namespace, doc: dict) -> tuple | None:
    """Builds, tunes and checks, filling doc; (model, new) when both could be built and tuned."""
    try:
        model, new = build_models(module, args.seed, args.train_mode)
        doc["tune_reports"], doc["tuning_seconds"] = tune(
            ft, new, cuda_inputs(module, args.seed), args)
    except CheckFailed as error:
        doc["failure"] = str(error)
    except Exception as error:  # noqa: BLE001 - ModelNew or its tuning failed: the check fails
        doc["failure"] = f"{type(error).__name__}: {error}"
    if doc["failure"]:
        print(f"check FAILED: {doc['failure']}")
        return None
    doc["trials"] = check(model, new, module, args)
    doc["correct"] = all(t["ok"] for t in doc["trials"])
    passed = sum(t["ok"] for t in doc["trials"])
    print(f"check {'passed' if doc['correct'] else 'FAILED'}: {passed}/{len(doc['trials'])} "
          f"trials allclose(atol={ATOL}, rtol={RTOL})")
    if not doc["correct"]:
        doc["failure"] = "outputs differ from Model's"
        tf32_hint(doc["trials"], doc["settings"])
    return model, new


def record_timing(doc: dict, timing: dict[str, dict]) -> None:
    doc["timing"] = timing
    doc["times_ms"] = {name: timing.get(name, {}).get("median_ms") for name in IMPLEMENTATIONS}
    ours = doc["times_ms"]["fusetune"]
    doc["speedups"] = {"vs_eager": ratio(doc["times_ms"]["eager"], ours),
                       "vs_compile": ratio(doc["times_ms"]["compile"], ours)}


def base_document(fusetune: Any, args: argparse.Namespace) -> dict[str, Any]:
    return {"module": args.module, "device": torch.cuda.get_device_name(),
            "torch_version": torch.__version__, "fusetune_version": fusetune_version(fusetune),
            "correct": False, "failure": None, "trials": [], "tuning_seconds": None,
            "tune_reports": [], "times_ms": {}, "speedups": {}, "timing": {}, "runs": args.runs,
            "mode": "train" if args.train_mode else "eval",
            "settings": tf32_settings(args.strict_fp32)}


def setup(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(fusetune, fusetune.torch, the model file's module); raises UsageError."""
    if not Path(args.module).is_file():
        raise UsageError(f"no such file: {args.module}")
    if torch is None:
        raise UsageError("needs PyTorch, which does not import here")
    if not torch.cuda.is_available():
        raise UsageError(f"needs a CUDA GPU; PyTorch {torch.__version__} sees none")
    fusetune, ft = import_fusetune(args.database)
    if args.precision is not None:  # the calls load what ft.tune tunes
        ft.set_precision(args.precision, args.tolerance)
    return fusetune, ft, load_model_file(args.module)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        fusetune, ft, module = setup(args)
    except UsageError as error:
        print(f"kernelbench_eval: {error}", file=sys.stderr)
        return 2
    doc = base_document(fusetune, args)
    flags = doc["settings"]
    print(f"{args.module} on {doc['device']}, PyTorch {doc['torch_version']}, fusetune "
          f"{doc['fusetune_version']}; cuda.matmul.allow_tf32={flags['cuda.matmul.allow_tf32']}"
          f", cudnn.allow_tf32={flags['cudnn.allow_tf32']}"
          f" ({'--strict-fp32' if args.strict_fp32 else 'as found'}); {doc['mode']} mode")
    models = run_check(ft, module, args, doc)
    if models and (doc["correct"] or args.time_anyway):
        record_timing(doc, time_all(*models, module, args))
        print_table(doc["timing"])
    if doc["tuning_seconds"] is not None:
        print(f"tuning time (apart from the timings): {doc['tuning_seconds']:.2f} s")
    text = json.dumps(finite(doc), default=str)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    return 0 if doc["correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
