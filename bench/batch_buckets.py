#!/usr/bin/env python3
"""Any batch size without compiling: a bucket's kernel against each batch size's own winner.

Tunes the seed linear's buckets of row counts (`fusetune tune --buckets`: 1..16, 17..32, ...,
2049..4096) into one database and, into another, 20 random batch sizes in 1..4096 each on its
own (per-shape kernels). Then for each size `fusetune bench --against-db` loads the size from
the buckets' database (which must serve it from its bucket with 0 NVRTC compiles) and times it
against its per-shape winner. Prints a table (bucket ms, own ms, bucket/own; within 10% or not)
and a JSON line. Every tuning is limited to --max-candidates (each family's best predicted) so
that the whole run fits about 8 minutes of an H100. Needs a GPU.

  python3 bench/batch_buckets.py --fusetune build/bin/fusetune [--max-candidates 6] [--seed 22]
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time

CHAIN = " -> bias -> mul(2.0) -> leaky_relu(0.1)"
N, K = 8192, 8192


def spec(m):
    return f"linear(m={m}, n={N}, k={K}){CHAIN}"


def fusetune(args, *command):
    result = subprocess.run([args.fusetune, *command], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"fusetune {' '.join(command[:2])} failed:\n{result.stdout}\n{result.stderr}")
    return result


def tune(args, db, *what):
    fusetune(args, "tune", *what, "--db", db, "--precision", args.precision, "--max-candidates",
             str(args.max_candidates), "--json")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fusetune", default="build/bin/fusetune")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--max-candidates", type=int, default=6)
    parser.add_argument("--sizes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = sorted(random.Random(args.seed).sample(range(1, 4097), args.sizes))
    with tempfile.TemporaryDirectory() as folder:
        buckets, shapes = f"{folder}/buckets.db", f"{folder}/shapes.db"
        start = time.time()
        tune(args, buckets, "--buckets", f"linear(m=1..4096, n={N}, k={K}){CHAIN}")
        bucket_s = time.time() - start
        with open(f"{folder}/sizes.txt", "w") as listing:
            listing.write("\n".join(spec(m) for m in sizes) + "\n")
        start = time.time()
        tune(args, shapes, "--specs", f"{folder}/sizes.txt")
        shapes_s = time.time() - start
        rows = []
        for m in sizes:
            report = json.loads(fusetune(args, "bench", spec(m), "--db", buckets, "--against-db",
                                         shapes, "--precision", args.precision, "--rounds",
                                         str(args.rounds), "--json").stdout)
            ours, own = report["fusetune"], report["baseline"]
            rows.append({"m": m, "bucket_kernel": ours["name"], "bucket_ms": ours["median_ms"],
                         "own_kernel": own["name"], "own_ms": own["median_ms"],
                         "ratio": ours["median_ms"] / own["median_ms"],
                         "load_compiles": report["load_compiles"], "load_ms": report["load_ms"],
                         "tuned": report["tuned"], "rel_err": ours["rel_err"]})
    device = report["device"]
    print(f"{device}, precision {args.precision}, --max-candidates {args.max_candidates}: "
          f"9 buckets tuned in {bucket_s:.0f} s, {len(sizes)} shapes in {shapes_s:.0f} s")
    print(f"{'m':>5} {'bucket kernel':<44}{'ms':>8} {'own kernel':<44}{'ms':>8}"
          f"{'bucket/own':>11}{'compiles':>9}")
    for r in rows:
        flag = "" if r["ratio"] <= 1.10 else "  > 10%"
        print(f"{r['m']:>5} {r['bucket_kernel']:<44}{r['bucket_ms']:>8.3f} {r['own_kernel']:<44}"
              f"{r['own_ms']:>8.3f}{r['ratio']:>11.3f}{r['load_compiles']:>9}{flag}")
    within = sum(r["ratio"] <= 1.10 for r in rows)
    compiles = sum(r["load_compiles"] for r in rows)
    untuned = [r["m"] for r in rows if not r["tuned"]]
    print(f"{within} of {len(rows)} within 10% of their own winner; {compiles} NVRTC compiles "
          f"over {len(rows)} loads" + (f"; served untuned: {untuned}" if untuned else ""))
    print(json.dumps({"device": device, "precision": args.precision,
                      "max_candidates": args.max_candidates, "bucket_tuning_s": bucket_s,
                      "shape_tuning_s": shapes_s, "rows": rows}))
    return 0 if compiles == 0 and not untuned else 1


if __name__ == "__main__":
    sys.exit(main())
