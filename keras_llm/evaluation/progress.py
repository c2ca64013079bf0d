"""A progress indicator for `evaluate`/`predict`: a redrawn bar on a terminal, plain lines in a log.

On a terminal the bar redraws itself in place (carriage return); when stdout is a file or a pipe,
a carriage-return bar would fill the log with hundreds of partial lines, so it prints one plain
line per tenth of the work instead (and one at the end). Keras' ``Progbar`` is not used: it
treats every POSIX process as a terminal and writes colour escapes into logs.

Example:
    >>> progress = Progress(1200, "translating", unit="pairs")
    >>> for batch in batches:
    ...     progress.advance(len(batch))
    >>> progress.close()
"""

import sys
import time

_BAR_WIDTH = 30
_REDRAW_SECONDS = 0.1


class Progress:
    """Counts ``done`` out of ``total`` units of work and shows it on ``stream`` (default stdout).

    Args:
        total: units of work expected (≥ 0).
        what: what is being done, e.g. ``"scoring windows"``.
        unit: name of one unit, e.g. ``"windows"``.
        stream: where to write (default ``sys.stdout``).
        interactive: redraw a bar in place; default: whether ``stream`` is a terminal.
    """

    def __init__(self, total, what, unit="items", stream=None, interactive=None):
        self.total, self.what, self.unit = int(total), what, unit
        self.stream = stream or sys.stdout
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.interactive = isatty() if interactive is None else interactive
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._last_tenth = 0
        self._closed = False

    def advance(self, count=1):
        """Record ``count`` more units done."""
        self.done += int(count)
        if self.interactive:
            now = time.monotonic()
            if now - self._last_draw >= _REDRAW_SECONDS:
                self._last_draw = now
                self._draw()
        elif self.total:
            tenth = min(10 * self.done // self.total, 10)
            if tenth > self._last_tenth and self.done < self.total:
                self._last_tenth = tenth
                self._line()

    def close(self):
        """Show the final count (once)."""
        if self._closed:
            return
        self._closed = True
        if self.interactive:
            self._draw()
            self.stream.write("\n")
        else:
            self._line()
        self.stream.flush()

    def _elapsed(self):
        return time.monotonic() - self.started

    def _line(self):
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        self.stream.write(f"{self.what}: {self.done:,}/{self.total:,} {self.unit}{share}, {self._elapsed():.1f}s\n")
        self.stream.flush()

    def _draw(self):
        share = self.done / self.total if self.total else 1.0
        filled = int(_BAR_WIDTH * min(share, 1.0))
        elapsed = self._elapsed()
        eta = f", ETA {elapsed * (1 - share) / share:.0f}s" if 0 < share < 1 else ""
        bar = "#" * filled + "." * (_BAR_WIDTH - filled)
        self.stream.write(f"\r{self.what}: [{bar}] {self.done:,}/{self.total:,} {self.unit} {elapsed:.0f}s{eta}")
        self.stream.flush()
