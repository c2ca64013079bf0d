"""The life of a run directory: new → in progress (resumable) → finished, one writer at a time.

Every task's ``train_*_run`` is wrapped by :func:`run_lifecycle`, so the rules hold for the
library and the CLI alike:

- **new** (missing or empty folder): training starts.
- **in progress** (``run.json`` without ``"status": "finished"``): training resumes from the
  backup; a run of another model kind is refused. A run its time budget (``max_minutes``) stopped
  before its planned steps is one too (status :data:`STOPPED`, backups kept).
- **finished**: refused with one line, unless ``overwrite=True``, which first moves the old run
  aside to ``<run_dir>.old-<n>`` (nothing is deleted).
- A second process on the same directory fails at once: an OS-level lock (``flock`` on
  ``<run_dir>/.lock``) is held for the whole run. The OS drops it when the process dies, so a
  killed run never leaves a stale lock.
- Several workers (``MultiWorkerMirroredStrategy``) given one run directory on a shared file
  system: only the chief (worker 0) locks and writes it. Every other worker trains in a private
  copy in its temporary folder, deleted when the run ends: TensorFlow's rule is that every worker
  runs the same save ops (they may hold collectives), so the others save too, elsewhere. The copy
  is taken between two barriers, after the chief has checked (and with ``overwrite`` emptied) the
  folder and before it writes anything, so a resumed run restores the same backup on every worker.

Example:
    >>> @run_lifecycle("gpt")
    ... def train_gpt_run(recipe_name, run_dir=None, ...): ...
    >>> with open_run("runs/x", "gpt", overwrite=True): ...
"""

import contextlib
import fcntl
import functools
import hashlib
import inspect
import io
import json
import os
import shutil
import tempfile
import zipfile

import tensorflow as tf

from keras_llm.distribute import is_chief, worker_barrier, worker_index, workers_agree
from keras_llm.errors import UserInputError
from keras_llm.files import atomic_write_text, one_line_write_errors
from keras_llm.runs.layout import RUN_FILE, default_run_dir, read_run_info_if_any
from keras_llm.training.backup import newest_intact_generation
from keras_llm.training.callbacks import TIME_LIMIT
from keras_llm.training.run_callbacks import run_paths

NEW, IN_PROGRESS, FINISHED = "new", "in progress", "finished"
# run.json's status of a run its time budget stopped early: resumable, so run_state() calls it IN_PROGRESS.
STOPPED = "stopped on its time limit"
LOCK_FILE = ".lock"
_held_locks = {}  # realpath -> [file object, depth]: the lock is re-entrant within one process
_private_copies = set()  # realpaths of the copies a non-chief worker trains in (re-entered as they are)
# Not copied into a non-chief worker's private copy: the chief's lock and TensorBoard events,
# which that worker only ever rewrites.
_NOT_COPIED = (LOCK_FILE, "logs")


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
def open_run(run_dir, kind, overwrite=False, log=print, strategy=None):
    """Hold ``run_dir`` for one training run of a ``kind`` model; marks it finished when the block succeeds.

    Yields the folder this process trains in: ``run_dir``, or on a non-chief worker of ``strategy``
    (default: the strategy in scope) a private copy of it, removed at the end.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if os.path.realpath(run_dir) in _private_copies:  # re-entered by the train_*_run the CLI calls
        yield run_dir
        return
    _check_is_folder(run_dir)
    first_entry = os.path.realpath(run_dir) not in _held_locks
    if is_chief(strategy):
        with _chief_run(run_dir, kind, overwrite, log):
            if first_entry:
                worker_barrier(strategy)  # the folder is ready to copy ...
                _check_same_backup(run_dir, strategy)  # ... and every other worker has copied it
            yield run_dir
            if first_entry:
                _log_final_weights(run_dir, strategy, log)
    else:
        _check_state(run_dir, run_state(run_dir), kind, overwrite)  # refuse as the chief will, not hang
        worker_barrier(strategy)
        with _private_copy(run_dir, worker_index(strategy)[0], log) as copy:
            _check_same_backup(copy, strategy)
            yield copy
            _log_final_weights(copy, strategy, log)


def _check_same_backup(run_dir, strategy):
    """Every worker must resume from the same backup; one whose --run-dir is not the chief's folder
    (no shared file system) would start again while the chief resumes, and the run would hang."""
    if worker_index(strategy)[1] == 1:
        return
    _, state = newest_intact_generation(run_paths(run_dir)["backup"], log=lambda message: None)
    # The steps the backup took (older backups: the epochs), so a cut epoch's backup counts apart.
    position = int(state.get("steps", state["epoch"])) if state else 0
    if not workers_agree(strategy, position):
        raise UserInputError(f"the workers would resume {run_dir} from different backups; give every worker the "
                             f"same --run-dir on a file system they share (see docs/distributed.md)")


def _log_final_weights(run_dir, strategy, log):
    """Several workers: each says which weights it ended with, so their agreement can be checked."""
    index, count = worker_index(strategy)
    final = run_paths(run_dir)["final"]
    if count > 1 and os.path.isfile(final):
        log(f"worker {index} of {count}: final weights sha256 {weights_sha256(final)}")


def weights_sha256(keras_file):
    """SHA-256 over the variables (names and bytes, in name order) of a ``.keras`` file: equal for
    equal weights, whatever the file's timestamps.

    Example:
        >>> weights_sha256("runs/x/final.keras")   # '3f5c...'
    """
    import h5py  # Keras' own dependency, for its weight files

    digest = hashlib.sha256()
    with zipfile.ZipFile(keras_file) as archive, archive.open("model.weights.h5") as raw:
        with h5py.File(io.BytesIO(raw.read()), "r") as weights:
            names = []
            weights.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
            for name in sorted(names):
                digest.update(name.encode())
                digest.update(weights[name][()].tobytes())
    return digest.hexdigest()


@contextlib.contextmanager
def _chief_run(run_dir, kind, overwrite, log):
    created = not os.path.exists(run_dir)
    with _locked(run_dir), _removed_if_nothing_started(run_dir, created):
        state = _check_state(run_dir, run_state(run_dir), kind, overwrite)
        if state == FINISHED:
            moved_to = _move_aside(run_dir)
            _relock(run_dir)
            log(f"moved the finished run in {run_dir} aside to {moved_to}")
        yield
        mark_finished(run_dir)


def _check_state(run_dir, state, kind, overwrite):
    """``state`` if a ``kind`` run may start in ``run_dir`` (a finished one only to be overwritten)."""
    if state == FINISHED and not overwrite:
        raise UserInputError(f"{run_dir} holds a finished run; choose a new run directory, or overwrite it "
                             f"(the old run is moved aside to {run_dir}.old-N, not deleted)")
    if state == IN_PROGRESS:
        found = read_run_info_if_any(run_dir).get("model")
        if found != kind:
            raise UserInputError(f"{run_dir} holds a {found!r} run; a {kind!r} run cannot resume it")
    return state


@contextlib.contextmanager
def _private_copy(run_dir, worker, log):
    """A non-chief worker's copy of ``run_dir`` (as the chief will read it) in the temporary folder."""
    parent = tempfile.mkdtemp(prefix=f"keras-llm-worker{worker}-")
    copy = os.path.join(parent, os.path.basename(os.path.normpath(run_dir)) or "run")
    if os.path.isdir(run_dir) and run_state(run_dir) == IN_PROGRESS:  # resuming: the same backup and settings
        shutil.copytree(run_dir, copy, ignore=lambda folder, names: [n for n in names if n in _NOT_COPIED]
                        if folder == run_dir else [])
    log(f"worker {worker}: the chief (worker 0) writes {run_dir}; this worker trains in {copy} "
        f"(removed at the end)")
    _private_copies.add(os.path.realpath(copy))
    try:
        yield copy
    finally:
        _private_copies.discard(os.path.realpath(copy))
        shutil.rmtree(parent, ignore_errors=True)


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
    then drop its resume backups, which a finished run no longer needs.

    A run its time budget stopped before its planned steps is not finished: it is marked
    :data:`STOPPED` and keeps its backups, so resuming it trains on (with a budget of its own).
    """
    info = read_run_info_if_any(run_dir)
    if info is not None and (info.get("trained") or {}).get("stopped_by") == TIME_LIMIT:
        if info.get("status") != STOPPED:
            atomic_write_text(os.path.join(run_dir, RUN_FILE), json.dumps({**info, "status": STOPPED}, indent=2))
        return
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
