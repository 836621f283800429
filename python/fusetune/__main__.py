"""`python -m fusetune ARGS`: the fusetune program (tune, gen, cache, bench, info) that was
packaged with this module, run with ARGS as from a shell; its exit code is the command's."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fusetune._capi import CHECKOUT_BUILD, PACKAGED


def program() -> Path:
    """The packaged fusetune program, else a checkout's build/bin/fusetune."""
    for path in (PACKAGED / "fusetune", CHECKOUT_BUILD / "bin" / "fusetune"):
        if os.access(path, os.X_OK):
            return path
    raise SystemExit(f"fusetune: the program is missing from {PACKAGED}: install the package "
                     "with `pip install .` in the source tree, or build it with scripts/build")


def main() -> None:
    """Replaces this process with the fusetune program, so that signals and the exit code are
    its own."""
    path = program()
    sys.stdout.flush()
    os.execv(path, ["fusetune", *sys.argv[1:]])


if __name__ == "__main__":
    main()
