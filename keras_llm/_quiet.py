"""Keep TensorFlow's C++ start-up notes off stderr (imports nothing heavy, so the package can use it first)."""

import contextlib
import os


@contextlib.contextmanager
def silenced_stderr():
    """Point file descriptor 2 at /dev/null for the block.

    TensorFlow 2.21's C++ libraries write absl INFO lines straight to fd 2 while they load and
    while the runtime starts (oneDNN notes, "Could not find cuda drivers", cuInit failures on
    machines without a GPU), before TF_CPP_MIN_LOG_LEVEL applies. Python exceptions still
    propagate, after stderr is back. A no-op with KERAS_LLM_VERBOSE_IMPORT set or without a
    usable fd 2.
    """
    if os.environ.get("KERAS_LLM_VERBOSE_IMPORT"):
        yield
        return
    try:
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
