#!/usr/bin/env python3
"""The budgeted search (`fusetune tune --budget-s`) against the exhaustive sweep.

For each spec and precision: an exhaustive cold tune into a fresh database A (its tuning time
T read from `tune --json`), then a cold tune under a budget of --fraction x T into a fresh
database B, then both winners timed in one process, alternating rounds (`fusetune bench --db A
--against-db B`). Prints a table (--json: one document) and exits 1 if any spec misses: the
budgeted winner slower than --max-winner-ratio x the exhaustive one, or its tuning longer than
--max-time-ratio x T. Needs a GPU.

  python3 bench/budget_search.py --fusetune build/bin/fusetune [--fraction 0.25] [--json]
  python3 bench/budget_search.py --case fp32 "linear(m=4096, n=4096, k=4096) -> relu"
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

SEED = "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"
CONV = ("conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, "
        "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
        "max_pool3d(2)")
SQUARE = "linear(m=4096, n=4096, k=4096) -> relu"
CASES = [("fp32", SEED), ("3xtf32", SEED), ("auto", SEED), ("fp32", CONV), ("fp32", SQUARE)]


class Miss(Exception):
    pass


def fusetune(args, *command):
    result = subprocess.run([args.fusetune, *command], capture_output=True, text=True)
    if result.returncode != 0:
        raise Miss(f"fusetune {command[0]} failed ({result.returncode}):\n{result.stdout}\n"
                   f"{result.stderr}")
    return json.loads(result.stdout)


def tune(args, spec, precision, db, *extra):
    start = time.monotonic()
    # --force: a system database ($FUSETUNE_SYSTEM_DB) must not answer for a cold sweep.
    report = fusetune(args, "tune", spec, "--precision", precision, "--db", db, "--force",
                      "--json", *extra)
    sweeps = report.get("sweeps", [report])  # auto: one per precision
    # The tuner's own time (tuning_s) is compared; the process's, with its start, is shown.
    return {"seconds": report["tuning_s"], "process_s": time.monotonic() - start,
            "winner": report["winner"]["name"],
            "screened": sum(s["candidates"] for s in sweeps),
            "space": sum(s["space_size"] for s in sweeps)}


def compare(args, precision, spec):
    with tempfile.TemporaryDirectory() as folder:
        exhaustive_db = os.path.join(folder, "exhaustive.db")
        budget_db = os.path.join(folder, "budget.db")
        exhaustive = tune(args, spec, precision, exhaustive_db)
        budget_s = args.fraction * exhaustive["seconds"]
        budget = tune(args, spec, precision, budget_db, "--budget-s", f"{budget_s:.3f}")
        bench = fusetune(args, "bench", spec, "--precision", precision, "--db", exhaustive_db,
                         "--against-db", budget_db, "--rounds", str(args.rounds), "--json")
    exhaustive["ms"] = bench["fusetune"]["median_ms"]
    budget["ms"] = bench["baseline"]["median_ms"]
    budget["budget_s"] = budget_s
    row = {"spec": spec, "precision": precision, "exhaustive": exhaustive, "budget": budget,
           "time_ratio": budget["seconds"] / exhaustive["seconds"],
           "winner_ratio": budget["ms"] / exhaustive["ms"]}
    row["met"] = (row["time_ratio"] <= args.max_time_ratio and
                  row["winner_ratio"] <= args.max_winner_ratio)
    return row


def print_table(rows, args):
    header = ("spec", "precision", "exh. s", "exh. winner", "exh. ms", "budget s", "screened",
              "budget winner", "budget ms", "time ratio", "winner ratio", "")
    lines = [header]
    for row in rows:
        if "error" in row:
            lines.append((row["spec"][:40], row["precision"], *["-"] * 9, "MISSED (failed)"))
            continue
        e, b = row["exhaustive"], row["budget"]
        lines.append((row["spec"][:40], row["precision"], f"{e['seconds']:.1f}", e["winner"],
                      f"{e['ms']:.3f}", f"{b['seconds']:.1f}", f"{b['screened']}/{b['space']}",
                      b["winner"], f"{b['ms']:.3f}", f"{row['time_ratio']:.2f}",
                      f"{row['winner_ratio']:.3f}", "met" if row["met"] else "MISSED"))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())
    print(f"\nbudget = {args.fraction} x the exhaustive tuning time; met: winner <= "
          f"{args.max_winner_ratio} x the exhaustive winner's time and tuning <= "
          f"{args.max_time_ratio} x its time")
    for row in rows:
        if "error" in row:
            print(f"\n{row['precision']} {row['spec']}:\n{row['error']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fusetune", default="build/bin/fusetune")
    parser.add_argument("--fraction", type=float, default=0.25,
                        help="the budget as a share of the exhaustive tuning time")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds of the bench")
    parser.add_argument("--max-time-ratio", type=float, default=0.30)
    parser.add_argument("--max-winner-ratio", type=float, default=1.03)
    parser.add_argument("--case", nargs=2, action="append", metavar=("PRECISION", "SPEC"),
                        help="a precision (or auto) and a spec; repeatable (default: the seed at "
                        "fp32, 3xtf32 and auto, the convolution seed, a 4096^3 linear)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    rows = []
    for precision, spec in args.case or CASES:
        try:
            rows.append(compare(args, precision, spec))
        except Miss as miss:
            rows.append({"spec": spec, "precision": precision, "met": False, "error": str(miss)})
        if not args.json:
            print(f"done: {precision} {spec}", file=sys.stderr)
    if args.json:
        print(json.dumps({"fraction": args.fraction, "rows": rows}, indent=2))
    else:
        print_table(rows, args)
    return 0 if all(row["met"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
