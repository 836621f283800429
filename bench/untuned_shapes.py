#!/usr/bin/env python3
"""How well an untuned shape runs on the winner it borrows from the nearest tuned shape.

Tunes one shape (the seed GEMM by default) into a fresh database, then for each nearby shape:
`fusetune bench` before it is tuned (Library::load borrows the nearest tuned shape's winner
and compiles it: the load time is reported), `fusetune tune` of that shape, and `fusetune bench`
again. Prints both times and their ratio (own tuned time / borrowed time; 1.0 = as good as
tuning it), and a JSON line. Needs a GPU.

  python3 bench/untuned_shapes.py --fusetune build/bin/fusetune [--precision 3xtf32]
"""

import argparse
import json
import subprocess
import sys
import tempfile

CHAIN = " -> bias -> mul(2.0) -> leaky_relu(0.1)"
TUNED = (1024, 8192, 8192)
NEAR = [(2048, 8192, 8192), (1024, 6144, 8192), (1024, 8192, 4096), (768, 8192, 8192)]


def spec(m, n, k):
    return f"linear(m={m}, n={n}, k={k}){CHAIN}"


def fusetune(args, *command):
    result = subprocess.run([args.fusetune, *command, "--db", args.db, "--precision",
                             args.precision], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:2])} failed:\n{result.stdout}\n{result.stderr}")
    return result


def bench(args, text):
    report = json.loads(fusetune(args, "bench", text, "--json").stdout)
    return report["fusetune"]["name"], report["fusetune"]["median_ms"], report["load_ms"], \
        report["tuned"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fusetune", default="build/bin/fusetune")
    parser.add_argument("--precision", default="3xtf32")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        args.db = f"{folder}/tuning.db"
        fusetune(args, "tune", spec(*TUNED))
        rows = []
        for shape in NEAR:
            text = spec(*shape)
            borrowed, borrowed_ms, load_ms, tuned_before = bench(args, text)
            fusetune(args, "tune", text)
            own, own_ms, _, _ = bench(args, text)
            rows.append({"spec": text, "borrowed": borrowed, "borrowed_ms": borrowed_ms,
                         "load_ms": load_ms, "untuned_before": not tuned_before, "own": own,
                         "own_ms": own_ms, "ratio": own_ms / borrowed_ms})
    print(f"tuned: {spec(*TUNED)} at {args.precision}")
    print(f"{'shape (m, n, k)':<22}{'borrowed ms':>12}{'load ms':>9}{'own ms':>9}{'own/borrowed':>14}"
          "  borrowed config -> own config")
    for row, shape in zip(rows, NEAR):
        print(f"{str(shape):<22}{row['borrowed_ms']:>12.3f}{row['load_ms']:>9.0f}"
              f"{row['own_ms']:>9.3f}{row['ratio']:>14.3f}  {row['borrowed']} -> {row['own']}")
    print(json.dumps({"tuned": spec(*TUNED), "precision": args.precision, "shapes": rows}))


if __name__ == "__main__":
    main()
