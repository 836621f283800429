#!/usr/bin/env python3
"""Runs bench/kernelbench_eval.py over the reduction and normalization patterns of bench/models
and prints one table of them all.

Each pattern is a model file (Model in PyTorch, ModelNew through fusetune.torch), checked and
timed by kernelbench_eval.py in a process of its own (fresh torch.compile and GPU state), which
writes OUT/NAME.json and OUT/NAME.log; convt3d_batchnorm runs with --train-mode (BatchNorm in
training mode, as KernelBench runs fresh modules). The table: pattern, the check (trials
allclose to strict-fp32 PyTorch), median ms of eager Model, torch.compile(Model) and ModelNew,
ModelNew's speedups, ModelNew's tuning time, and the precision and config fusetune chose.
OUT/summary.json holds the table's rows. bench/models/check_on_cpu.py checks, without a GPU,
that each ModelNew's spec computes what its Model does.

Time: to fit about 9 minutes of an H100, tuning is limited to --max-candidates per precision
(default 24: the table's winners are those of a partial sweep, and the tuning database keeps
them; pass --database to keep them apart, or --force-tune later for a full sweep), and the run
to --budget-s: a pattern starts only while at least --min-start-s of it are left, and stops at
the budget's end or after --timeout-s, whichever comes first (its row then says so).

Usage, from the repository root of a GPU machine with fusetune built:
  PYTHONPATH=python python3 bench/reduction_patterns.py [NAME ...] [--out DIR]
NAME selects the patterns whose names contain it (linear, conv2d_groupnorm). Exit status: 0 when
every selected pattern ran and passed its check, 1 otherwise, 2 for an unknown NAME.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
# The patterns in the order they run, each with its own options to kernelbench_eval.py.
PATTERNS = {
    "linear_softmax": [],
    "linear_logsumexp": [],
    "linear_layernorm_gelu": [],
    "linear_groupnorm": [],
    "linear_sum": [],
    "conv2d_groupnorm": [],
    "conv2d_instancenorm_div": [],
    "convt3d_batchnorm": ["--train-mode"],
    "conv3d_softmax_pools": [],
    "convt2d_pool_mean": [],
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Check and time every bench/models pattern with kernelbench_eval.py; one "
                    "table at the end. See the header of this file.")
    add = parser.add_argument
    add("names", nargs="*", help="run only the patterns whose names contain one of these")
    add("--out", type=Path, default=Path("gpu-logs/reduction_patterns"),
        help="folder for each pattern's JSON and log (default: %(default)s)")
    add("--max-candidates", type=int, default=24,
        help="candidates per precision tuned (0: all; default: %(default)s)")
    add("--runs", type=int, default=100, help="timed runs each (default: %(default)s)")
    add("--budget-s", type=float, default=540, help="the whole run's limit (default: %(default)s)")
    add("--timeout-s", type=float, default=240, help="one pattern's limit (default: %(default)s)")
    add("--min-start-s", type=float, default=45,
        help="start a pattern only with this much of the budget left (default: %(default)s)")
    # At fp32-accurate precision whatever PyTorch's switches say: the patterns are checked
    # against strict-fp32 PyTorch at 1e-4 and timed against PyTorch at its default switches.
    add("--precision", default="auto",
        help="passed to kernelbench_eval.py (default: %(default)s, fp32-accurate)")
    add("--database", help="passed to kernelbench_eval.py: fusetune's tuning database")
    add("--force-tune", action="store_true", help="passed to kernelbench_eval.py")
    add("--strict-fp32", action="store_true", help="passed to kernelbench_eval.py")
    return parser.parse_args()


def selected(names: list[str]) -> list[str]:
    """The patterns any of `names` selects, in PATTERNS' order; exits 2 for a name that selects
    none."""
    for name in names:
        if not any(name in pattern for pattern in PATTERNS):
            print(f"reduction_patterns: no pattern matches {name!r}; the patterns: "
                  f"{', '.join(PATTERNS)}", file=sys.stderr)
            sys.exit(2)
    return [p for p in PATTERNS if not names or any(name in p for name in names)]


def eval_command(name: str, args: argparse.Namespace) -> list[str]:
    model = BENCH / "models" / f"{name}.py"
    command = [sys.executable, str(BENCH / "kernelbench_eval.py"), str(model),
               "--json", str(args.out / f"{name}.json"), "--runs", str(args.runs),
               "--max-candidates", str(args.max_candidates), *PATTERNS[name]]
    for option in ("precision", "database"):
        if getattr(args, option):
            command += [f"--{option}", getattr(args, option)]
    for option in ("force_tune", "strict_fp32"):
        if getattr(args, option):
            command.append("--" + option.replace("_", "-"))
    return command


def run_pattern(name: str, args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    """kernelbench_eval.py on one pattern, stopped (its whole process group) after `seconds`;
    {"doc": its JSON} or {"error": why there is none}, and "seconds"."""
    json_path, log_path = args.out / f"{name}.json", args.out / f"{name}.log"
    json_path.unlink(missing_ok=True)
    start = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(eval_command(name, args), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            rc = process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            rc = None
        finally:  # on the timeout, or on Ctrl-C (the child has a session of its own)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # its compile and tuning workers too
                process.wait()
    result: dict[str, Any] = {"seconds": time.monotonic() - start}
    if rc is None:
        result["error"] = f"stopped after {seconds:.0f} s"
    elif json_path.is_file():
        result["doc"] = json.loads(json_path.read_text())
    else:
        result["error"] = f"exit {rc}, no JSON: see {log_path.name}"
    return result


def fmt(value: Any, spec: str, suffix: str = "") -> str:
    return format(value, spec) + suffix if isinstance(value, (int, float)) else "-"


def check_text(doc: dict[str, Any]) -> str:
    trials = doc.get("trials") or []
    passed = sum(bool(t.get("ok")) for t in trials)
    if doc.get("correct"):
        return f"passed {passed}/{len(trials)}"
    return f"FAILED {passed}/{len(trials)}" if trials else "FAILED"


def chosen(doc: dict[str, Any]) -> str:
    """Each tuned spec's precision and config, from the tuning reports."""
    return "; ".join(f"{r.get('precision')} {r.get('config')}" for r in doc.get("tune_reports")
                     or []) or "-"


def row(name: str, result: dict[str, Any]) -> dict[str, Any]:
    """One table row from a pattern's result; missing values are None."""
    doc = result.get("doc", {})
    times, speedups = doc.get("times_ms") or {}, doc.get("speedups") or {}
    return {"pattern": name, "device": doc.get("device"), "mode": doc.get("mode"),
            "check": check_text(doc) if doc else result.get("error", "not run"),
            "eager_ms": times.get("eager"), "compile_ms": times.get("compile"),
            "fusetune_ms": times.get("fusetune"), "vs_eager": speedups.get("vs_eager"),
            "vs_compile": speedups.get("vs_compile"), "tuning_s": doc.get("tuning_seconds"),
            "chosen": chosen(doc) if doc else "-", "failure": doc.get("failure"),
            "seconds": result.get("seconds")}


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    device = next((r["device"] for r in rows if r["device"]), "?")
    tuned = f"at most {args.max_candidates} candidates per precision" \
        if args.max_candidates else "full sweeps"
    print(f"\nReduction patterns on {device}: fusetune tuned with {tuned} "
          f"(--max-candidates), precision {args.precision or 'auto'}; median of {args.runs} "
          f"runs, L2 flushed; TF32 flags {'off' if args.strict_fp32 else 'as found'}")
    header = ["pattern", "check", "eager ms", "compile ms", "fusetune ms", "vs eager",
              "vs compile", "tune s", "precision config"]
    lines = [header] + [[r["pattern"] + (" (train)" if r["mode"] == "train" else ""),
                         r["check"], fmt(r["eager_ms"], ".3f"), fmt(r["compile_ms"], ".3f"),
                         fmt(r["fusetune_ms"], ".3f"), fmt(r["vs_eager"], ".2f", "x"),
                         fmt(r["vs_compile"], ".2f", "x"), fmt(r["tuning_s"], ".1f"),
                         r["chosen"]] for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    for line in lines:
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in
                 enumerate(zip(line, widths))]
        print("  ".join(cells + [line[-1]]))
    for r in rows:
        if r["failure"]:
            print(f"{r['pattern']}: {r['failure']}")


def main() -> int:
    args = parse_args()
    names = selected(args.names)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    end = start + args.budget_s
    rows = []
    for i, name in enumerate(names, 1):
        left = end - time.monotonic()
        if left < args.min_start_s:
            rows.append(row(name, {"error": f"not run: {left:.0f} s of --budget-s left"}))
            continue
        print(f"[{i}/{len(names)}] {name}", flush=True)
        result = run_pattern(name, args, min(args.timeout_s, left))
        rows.append(row(name, result))
        print(f"  {rows[-1]['check']} in {result['seconds']:.0f} s", flush=True)
    print_table(rows, args)
    print(f"{len(rows)} pattern(s) in {time.monotonic() - start:.0f} s "
          f"(--budget-s {args.budget_s:.0f}); JSON and logs in {args.out}")
    (args.out / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if all(r["check"].startswith("passed") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
