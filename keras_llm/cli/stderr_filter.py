"""Keep TensorFlow's C++ log lines (``E0000 12:34:56.789 123 util.cc:131] ...``) off the command's stderr.

TensorFlow 2.21's C++ code logs through absl straight to file descriptor 2, at import, at runtime
start and while ops run (the oneDNN "DT_INT64 only on platforms with AVX-512" note comes at the
first int64 op, long after start-up), and ``TF_CPP_MIN_LOG_LEVEL`` does not reach all of it. The
command's stderr is a pipe read by a thread that drops those lines and passes every other one
through, so a user sees our one-line errors (and Python tracebacks) only.

Example:
    >>> with filtered_stderr():
    ...     run_the_command()
"""

import contextlib
import os
import re
import sys
import threading

# absl's prefix: severity letter, MMDD, time, thread id, file:line]; and absl's one-time notice.
_NATIVE_LOG_LINE = re.compile(rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]]+\] |WARNING: All log messages before "
                              rb"absl::InitializeLog\(\) is called are written to STDERR)")


@contextlib.contextmanager
def filtered_stderr():
    """Route fd 2 through the filter for the block (a no-op with KERAS_LLM_VERBOSE_IMPORT set)."""
    if os.environ.get("KERAS_LLM_VERBOSE_IMPORT"):
        yield
        return
    try:
        original = os.dup(2)
        read_end, write_end = os.pipe()
    except OSError:
        yield
        return
    os.dup2(write_end, 2)
    os.close(write_end)
    pump = threading.Thread(target=_pass_through, args=(read_end, original), daemon=True)
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end: the pump sees the end and finishes
        pump.join(timeout=5)
        os.close(original)


def _pass_through(read_end, original):
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        pending = b""
        for chunk in iter(lambda: pipe.read(65536), b""):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            _write(original, [line + b"\n" for line in lines])
        _write(original, [pending] if pending else [])


def _write(descriptor, lines):
    kept = b"".join(line for line in lines if not _NATIVE_LOG_LINE.match(line))
    if kept:
        os.write(descriptor, kept)
