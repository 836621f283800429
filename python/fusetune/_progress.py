"""A progress bar for tuning sweeps, drawn on standard error where it is a terminal."""

import sys
import time


class ProgressBar:
    """Draws `label [#####.....] done/total precision` on one line, at most 10 times a second."""

    def __init__(self, label, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.last_draw = 0.0
        self.drawn = False

    def update(self, done, total, precision):
        now = time.monotonic()
        if done < total and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        if not self.interactive and done < total:
            return
        width = 30
        filled = width * done // max(total, 1)
        line = f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {precision}"
        self.stream.write(("\r" if self.interactive else "") + line + ("\n" if done >= total else ""))
        self.stream.flush()
        self.drawn = done < total

    def close(self):
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
