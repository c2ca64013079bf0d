"""The life of a run directory: new → in progress (resumable) → finished, one writer at a time.

Every task's ``train_*_run`` is wrapped by :func:`run_lifecycle`, so the rules hold for the
library and the CLI alike:

- **new** (missing or empty folder): training starts.
- **in progress** (``run.json`` without ``"status": "finished"``): training resumes from the
  backup; a run of another model kind is refused.
- **finished**: refused with one line, unless ``overwrite=True``, which first moves the old run
  aside to ``<run_dir>.old-<n>`` (nothing is deleted).
- A second process on the same directory fails at once: an OS-level lock (``flock`` on
  ``<run_dir>/.lock``) is held for the whole run. The OS drops it when the process dies, so a
  killed run never leaves a stale lock.

Example:
    >>> @run_lifecycle("gpt")
    ... def train_gpt_run(recipe_name, run_dir=None, ...): ...
    >>> with open_run("runs/x", "gpt", overwrite=True): ...
"""

import contextlib
import fcntl
import functools
import inspect
import json
import os
import shutil

from keras_llm.errors import UserInputError
from keras_llm.files import atomic_write_text, one_line_write_errors
from keras_llm.runs.layout import RUN_FILE, default_run_dir, read_run_info_if_any
from keras_llm.training.run_callbacks import run_paths

NEW, IN_PROGRESS, FINISHED = "new", "in progress", "finished"
LOCK_FILE = ".lock"
_held_locks = {}  # realpath -> [file object, depth]: the lock is re-entrant within one process


def run_state(run_dir):
    """:data:`NEW`, :data:`IN_PROGRESS` or :data:`FINISHED`."""
    info = read_run_info_if_any(run_dir)
    if info is None:
        return NEW
    if info.get("status") == FINISHED:
        return FINISHED
    paths = run_paths(run_dir)
    legacy_finished = "status" not in info and os.path.isfile(paths["final"]) and not os.path.isdir(paths["backup"])
    return FINISHED if legacy_finished else IN_PROGRESS


@contextlib.contextmanager
def open_run(run_dir, kind, overwrite=False, log=print):
    """Hold ``run_dir`` for one training run of a ``kind`` model; marks it finished when the block succeeds."""
    _check_is_folder(run_dir)
    created = not os.path.exists(run_dir)
    with _locked(run_dir), _removed_if_nothing_started(run_dir, created):
        state = run_state(run_dir)
        if state == FINISHED and overwrite:
            moved_to = _move_aside(run_dir)
            _relock(run_dir)
            log(f"moved the finished run in {run_dir} aside to {moved_to}")
        elif state == FINISHED:
            raise UserInputError(f"{run_dir} holds a finished run; choose a new run directory, or overwrite it "
                                 f"(the old run is moved aside to {run_dir}.old-N, not deleted)")
        elif state == IN_PROGRESS:
            found = read_run_info_if_any(run_dir).get("model")
            if found != kind:
                raise UserInputError(f"{run_dir} holds a {found!r} run; a {kind!r} run cannot resume it")
        yield run_dir
        mark_finished(run_dir)


@contextlib.contextmanager
def _removed_if_nothing_started(run_dir, created):
    """A run directory this call created is removed again when the run fails before it wrote run.json."""
    try:
        yield
    except BaseException:
        if created and run_state(run_dir) == NEW:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def mark_finished(run_dir):
    """Record in ``run.json`` that the run ended normally (later ``train`` calls will not touch it),
    then drop its resume backups, which a finished run no longer needs."""
    info = read_run_info_if_any(run_dir)
    if info is not None and info.get("status") != FINISHED:
        atomic_write_text(os.path.join(run_dir, RUN_FILE), json.dumps({**info, "status": FINISHED}, indent=2))
    shutil.rmtree(run_paths(run_dir)["backup"], ignore_errors=True)


def run_lifecycle(kind):
    """Decorate a ``train_*_run(recipe_name, run_dir=None, ..., overwrite=False)`` with :func:`open_run`."""
    def decorate(train_run):
        signature = inspect.signature(train_run)
        first = next(iter(signature.parameters))  # the recipe name

        @functools.wraps(train_run)
        def wrapper(*args, run_dir=None, overwrite=False, **kwargs):
            bound = signature.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            run_dir = run_dir or default_run_dir(bound.arguments[first])
            with open_run(run_dir, kind, overwrite=overwrite, log=kwargs.get("log", print)):
                return train_run(*args, run_dir=run_dir, **kwargs)
        return wrapper
    return decorate


def _check_is_folder(run_dir):
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise UserInputError(f"run directory {run_dir} is a file, not a folder")


@contextlib.contextmanager
def _locked(run_dir):
    key = os.path.realpath(run_dir)
    if key in _held_locks:  # this process holds it already (the CLI around a train_*_run call)
        _held_locks[key][1] += 1
        try:
            yield
        finally:
            _held_locks[key][1] -= 1
        return
    _held_locks[key] = [_acquire(run_dir), 1]
    try:
        yield
    finally:
        _held_locks.pop(key)[0].close()  # closing the descriptor releases the flock


def _acquire(run_dir):
    with one_line_write_errors(run_dir):
        os.makedirs(run_dir, exist_ok=True)
        handle = open(os.path.join(run_dir, LOCK_FILE), "a+")  # noqa: SIM115  (held for the whole run)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise UserInputError(f"another keras-llm process is writing {run_dir}; wait for it to end "
                             f"or choose another run directory") from None
    return handle


def _relock(run_dir):
    """After the folder moved aside (with its lock file), hold the lock of the new, empty folder."""
    key = os.path.realpath(run_dir)
    old_handle, depth = _held_locks.pop(key)
    old_handle.close()
    handle = _acquire(run_dir)
    _held_locks[key] = [handle, depth]


def _move_aside(run_dir):
    number = 1
    while os.path.exists(f"{run_dir.rstrip(os.sep)}.old-{number}"):
        number += 1
    target = f"{run_dir.rstrip(os.sep)}.old-{number}"
    with one_line_write_errors(run_dir):
        os.rename(run_dir, target)
        os.makedirs(run_dir)
    return target
