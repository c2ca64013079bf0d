"""A progress indicator for `keras-llm evaluate` / `predict`: a bar on a terminal, plain lines otherwise.

On a terminal the line redraws itself (carriage returns) at most ten times a second; in a log
file or a pipe a carriage-return bar would pile up, so a plain line is printed each time another
tenth of the work is done.

Example:
    >>> progress = Progress("predict", total=os.path.getsize(path))
    >>> progress.update(bytes_read, f"{rows} rows")      # repeatedly
    >>> progress.finish(f"{rows} rows")
"""

import sys
import time

_WIDTH = 30


class Progress:
    """Progress of ``total`` units of work (rows, sentences, bytes), labelled ``description``.

    Args:
        description: what is running, printed first on every line.
        total: the amount of work; 0 or None shows counts only.
        stream: where to print (default ``sys.stdout``).
        interactive: redraw one line (default: whether ``stream`` is a terminal).
    """

    def __init__(self, description, total, stream=None, interactive=None):
        self.description, self.total = description, total or 0
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._last_draw = 0.0
        self._printed_tenths = -1

    def _line(self, done, note):
        if not self.total:
            return f"{self.description}: {note}".rstrip(": ")
        fraction = min(max(done / self.total, 0.0), 1.0)
        if self.interactive:
            filled = int(fraction * _WIDTH)
            bar = "=" * filled + (">" if filled < _WIDTH else "") + "." * (_WIDTH - filled - 1)
            return f"{self.description} [{bar}] {fraction:4.0%} {note}".rstrip()
        return f"{self.description}: {fraction:.0%} {note}".rstrip()

    def update(self, done, note=""):
        """Report ``done`` units finished; ``note`` adds counts such as "1200 rows"."""
        if self.interactive:
            now = time.monotonic()
            if now - self._last_draw >= 0.1:
                self._last_draw = now
                self.stream.write("\r" + self._line(done, note) + "\033[K")
                self.stream.flush()
            return
        tenths = int(10 * done / self.total) if self.total else 0
        if tenths > self._printed_tenths and tenths < 10:
            self._printed_tenths = tenths
            print(self._line(done, note), file=self.stream, flush=True)

    def finish(self, note=""):
        """Print the final state (100%) and end the line."""
        prefix = "\r" if self.interactive else ""
        suffix = "\033[K" if self.interactive else ""
        print(prefix + self._line(self.total, note) + suffix, file=self.stream, flush=True)
