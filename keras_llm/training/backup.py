"""Crash-safe backups of a training run, taken at the end of every epoch, for exact resume.

Keras' ``BackupAndRestore`` writes its weights and its epoch counter in place, one after the
other, and keeps neither the random-number state of dropout nor the state of early stopping;
a run killed at the wrong moment resumes from a half-written file, with the wrong epoch count,
or with other dropout masks. :class:`RunBackup` instead writes each backup as a *generation*,
``backup/epoch-000006/``, into a temporary folder that is fsynced and renamed into place, so a
generation is either complete or absent. Each holds:

- ``weights.weights.h5``: model and optimizer variables (``model.save_weights``);
- ``state.json``: the completed epochs and the optimizer steps taken, the state of every dropout
  layer's seed generator and of early stopping, the time the backup was taken, and the size and
  CRC-32 of every file in the generation, so truncation or corruption is detected on resume;
- ``early_stopping_best.npz``: early stopping's best weights, when it keeps them;
- ``lora_adapters.npz``: a LoRA run's unmerged kernels and adapters (``save_weights`` keeps merged kernels only).

On resume the newest intact generation is used; a damaged newest one is reported in one line
and the previous one is used *with its own epoch count*. The last two generations are kept.

Resume is step-exact, also after an epoch cut short (a time limit ends training mid-epoch; Keras
still validates and ends that epoch): the backup counts the steps actually taken, the resumed
input skips exactly those, and the first resumed epoch runs only the steps the cut one missed
(:meth:`RunBackup.realigner` ends it there), so validation, checkpoints and the planned total fall
on the same steps as in an uninterrupted run. Early stopping's state is backed up as it was before
the cut epoch, whose partial validation must not count as an epoch of patience.

Example:
    >>> backup = RunBackup("runs/x/backup", steps_per_epoch=100)
    >>> train = train.skip(backup.resumed_steps)
    >>> model.fit(train, callbacks=[backup.realigner(), *others, backup.watch(others)])  # last: it backs
    ...                                                                                   # up what they logged
"""

import json
import os
import shutil
import signal
import time
import zlib

import keras
import numpy as np

from keras_llm.errors import UserInputError
from keras_llm.files import atomic_directory
from keras_llm.training.lora import adapter_state, restore_adapter_state

GENERATION_PREFIX = "epoch-"
WEIGHTS = "weights.weights.h5"
STATE = "state.json"
BEST_WEIGHTS = "early_stopping_best.npz"
ADAPTERS = "lora_adapters.npz"  # LoRA runs: the unmerged kernels and adapters save_weights does not keep
KEEP_GENERATIONS = 2
# Test hook: KERAS_LLM_FAILPOINT="<point>@<epoch>" SIGKILLs the process at that point (see tests/training);
# "run-written" (no epoch) right after a run's run.json is written, before anything trains (tests/cli).
FAILPOINT_VARIABLE = "KERAS_LLM_FAILPOINT"


def failpoint(point, epoch=None, batch=None):
    """Kill this process (SIGKILL: no clean-up runs) if the failpoint variable names this point."""
    wanted = os.environ.get(FAILPOINT_VARIABLE)
    here = point if epoch is None else f"{point}@{epoch}" if batch is None else f"{point}@{epoch}:{batch}"
    if wanted and wanted == here:
        os.kill(os.getpid(), signal.SIGKILL)


class RunBackup(keras.callbacks.Callback):
    """Back up at every epoch end (as generations) and restore the newest intact one at the start.

    Args:
        backup_dir: the run's ``backup/`` folder.
        steps_per_epoch: the ``steps_per_epoch`` given to ``fit``.
        log: receives the one-line notice when a damaged backup is skipped.

    Attributes:
        resumed_steps: optimizer steps taken by the generation that will be restored (0 for a new
            run); known at construction, so the input stream can skip them before ``fit``.
        resumed_epochs: the epochs those steps complete (``fit``'s first epoch is the next one).
        resumed_time: when that generation was taken (``time.time()``), or None.
    """

    def __init__(self, backup_dir, steps_per_epoch, log=print):
        super().__init__()
        self.backup_dir = backup_dir
        self.steps_per_epoch = int(steps_per_epoch)
        self._generation, self._state = newest_intact_generation(backup_dir, log)
        state = self._state or {"epoch": 0}
        # Backups written before steps were recorded ended on whole epochs.
        self.resumed_steps = int(state.get("steps", int(state["epoch"]) * self.steps_per_epoch))
        self.resumed_epochs = self.resumed_steps // self.steps_per_epoch
        self.resumed_time = state.get("time")
        self._steps = self.resumed_steps
        self._batch_begin = 0
        self._epoch = self.resumed_epochs
        self._early_stopping_before_epoch = {}
        self._realigning = self.resumed_steps % self.steps_per_epoch != 0
        self._realigned_stop = False
        self._others = []

    def realigner(self):
        """A callback for the *front* of the callback list: after the shortened first epoch of a run
        resumed mid-epoch, it clears the stop that ended that epoch, before early stopping or a time
        limit decide whether training stops for their own reasons."""
        return _Realigner(self)

    def on_train_begin(self, logs=None):
        if self._generation is None:
            return
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(os.path.join(self._generation, WEIGHTS))
        if os.path.isfile(os.path.join(self._generation, ADAPTERS)):
            with np.load(os.path.join(self._generation, ADAPTERS)) as adapters:
                restore_adapter_state(self.model, adapters)
        for generator, value in zip(_seed_generators(self.model), self._state.get("seed_generators", [])):
            generator.state.assign(np.asarray(value, dtype=generator.state.dtype))
        stopped_early = False
        for callback in self._early_stoppers():
            _restore_early_stopping(callback, self._state.get("early_stopping", {}), self._generation)
            stopped_early = stopped_early or callback.stopped_epoch > 0
        # fit() starts its epoch loop here (as keras.callbacks.BackupAndRestore sets it); a run that
        # early stopping had already ended trains no further epoch.
        self.model._initial_epoch = self.params["epochs"] if stopped_early else self.resumed_epochs  # noqa: SLF001

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._early_stopping_before_epoch = {id(callback): _early_stopping_snapshot(callback)
                                             for callback in self._early_stoppers()}

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_begin = batch

    def on_train_batch_end(self, batch, logs=None):
        # ``batch`` is the last step index of this call (several under steps_per_execution).
        self._steps += batch - self._batch_begin + 1
        failpoint("mid-epoch", self._epoch, batch)
        if self._realigning and self._steps % self.steps_per_epoch == 0:
            # The resumed epoch has made up the steps its cut predecessor missed: end it here, where an
            # uninterrupted run ends it. Last in the list, so a stop asked by another callback shows.
            self._realigning = False
            if not self.model.stop_training:
                self.model.stop_training = self._realigned_stop = True

    def watch(self, callbacks):
        """Let the backup see the run's other callbacks (early stopping, TensorBoard writers); returns self."""
        self._others = list(callbacks)
        return self

    def on_epoch_end(self, epoch, logs=None):
        self._realigning = False  # a stop by something else ended the resumed epoch first
        self._epoch = epoch + 1
        _flush_tensorboard(self._others)
        failpoint("before-backup", epoch)
        self._write_generation(self._steps // self.steps_per_epoch)
        failpoint("after-backup", epoch)

    def on_train_end(self, logs=None):
        failpoint("train-end", self._epoch)

    def _early_stoppers(self):
        return [callback for callback in self._others if isinstance(callback, keras.callbacks.EarlyStopping)]

    def _write_generation(self, epochs_done):
        # A hidden temporary folder, fsynced and renamed into place (it replaces the generation of an
        # epoch re-run after a kill past its backup); _generations() never lists the hidden one.
        with atomic_directory(os.path.join(self.backup_dir, f"{GENERATION_PREFIX}{epochs_done:06d}")) as folder:
            self._write_files(folder, epochs_done)
        _remove_old_generations(self.backup_dir)

    def _write_files(self, folder, epochs_done):
        self.model.save_weights(os.path.join(folder, WEIGHTS))
        adapters = adapter_state(self.model)
        if adapters:
            np.savez(os.path.join(folder, ADAPTERS), **adapters)
        state = {"epoch": epochs_done, "steps": self._steps, "time": time.time(),
                 "seed_generators": [np.asarray(g.state).tolist() for g in _seed_generators(self.model)],
                 "early_stopping": {}}
        cut_short = self._steps % self.steps_per_epoch != 0
        for callback in self._early_stoppers():
            # A cut epoch is trained on after the resume: early stopping must see it once, whole.
            snapshot = self._early_stopping_before_epoch.get(id(callback)) if cut_short else None
            state["early_stopping"] = _early_stopping_state(snapshot or _early_stopping_snapshot(callback), folder)
        failpoint("mid-backup", epochs_done - 1)
        state["files"] = {name: _fingerprint(os.path.join(folder, name)) for name in sorted(os.listdir(folder))}
        with open(os.path.join(folder, STATE), "w", encoding="utf-8") as handle:  # the folder is renamed in whole
            json.dump(state, handle)


def newest_intact_generation(backup_dir, log=print):
    """``(folder, state)`` of the newest complete, undamaged generation, or ``(None, None)``."""
    skipped = []
    for folder in reversed(_generations(backup_dir)):
        problem = _damage(folder)
        if problem is None:
            if skipped:
                log(f"backup {os.path.basename(skipped[0][0])} is damaged ({skipped[0][1]}); resuming from "
                    f"{os.path.basename(folder)} instead")
            with open(os.path.join(folder, STATE), encoding="utf-8") as handle:
                return folder, json.load(handle)
        skipped.append((folder, problem))
    if skipped:
        raise UserInputError(f"every backup in {backup_dir} is damaged ({skipped[0][1]}); move the run directory "
                             f"aside and start again")
    return None, None


def _generations(backup_dir):
    if not os.path.isdir(backup_dir):
        return []
    names = sorted(name for name in os.listdir(backup_dir)
                   if name.startswith(GENERATION_PREFIX) and name[len(GENERATION_PREFIX):].isdigit())
    return [os.path.join(backup_dir, name) for name in names]


def _damage(folder):
    """None if the generation is complete and its files match their recorded size and CRC-32."""
    try:
        with open(os.path.join(folder, STATE), encoding="utf-8") as handle:
            state = json.load(handle)
        files = state["files"]
        int(state["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return "its state.json is missing or unreadable"
    for name, expected in files.items():
        path = os.path.join(folder, name)
        if not os.path.isfile(path) or _fingerprint(path) != expected:
            return f"{name} is missing, truncated or changed"
    return None


def _fingerprint(path):
    checksum = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            checksum = zlib.crc32(block, checksum)
    return {"bytes": os.path.getsize(path), "crc32": checksum}


def _remove_old_generations(backup_dir):
    for folder in _generations(backup_dir)[:-KEEP_GENERATIONS]:
        shutil.rmtree(folder, ignore_errors=True)


def _seed_generators(model):
    """Every dropout (or other random) layer's SeedGenerator, in a fixed order. Keras does not save
    their states with the weights, so a resumed run would draw other dropout masks."""
    return [generator for layer in model._flatten_layers(include_self=True)  # noqa: SLF001
            for generator in getattr(layer, "_seed_generators", [])]


class _Realigner(keras.callbacks.Callback):
    """The front half of :class:`RunBackup`'s realignment (see :meth:`RunBackup.realigner`)."""

    def __init__(self, backup):
        super().__init__()
        self.backup = backup

    def on_epoch_end(self, epoch, logs=None):
        if self.backup._realigned_stop:  # noqa: SLF001  (the two halves of one mechanism)
            self.backup._realigned_stop = False  # noqa: SLF001
            self.model.stop_training = False


def _early_stopping_snapshot(callback):
    """Early stopping's state as plain values (its best weights are a list it replaces, never mutates)."""
    return {"wait": callback.wait, "best": callback.best, "best_epoch": callback.best_epoch,
            "stopped_epoch": callback.stopped_epoch, "best_weights": callback.best_weights}


def _early_stopping_state(snapshot, folder):
    if snapshot["best_weights"] is not None:
        np.savez(os.path.join(folder, BEST_WEIGHTS), *snapshot["best_weights"])
    best = snapshot["best"]
    return {"wait": int(snapshot["wait"]), "best": None if best is None else float(best),
            "best_epoch": int(snapshot["best_epoch"]), "stopped_epoch": int(snapshot["stopped_epoch"]),
            "has_best_weights": snapshot["best_weights"] is not None}


def _restore_early_stopping(callback, state, folder):
    if not state:
        return
    callback.wait, callback.best_epoch = state["wait"], state["best_epoch"]
    callback.stopped_epoch = state["stopped_epoch"]
    if state["best"] is not None:
        callback.best = state["best"]
    if state["has_best_weights"]:
        with np.load(os.path.join(folder, BEST_WEIGHTS)) as arrays:
            callback.best_weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


def _flush_tensorboard(callbacks):
    """Flush TensorBoard's writers, so the epoch's events are on disk before the backup says it is done."""
    for callback in callbacks:
        if hasattr(callback, "flush_events"):  # ours (keras_llm.training.step_logging and its neighbours)
            callback.flush_events()
            continue
        for writer in getattr(callback, "_writers", {}).values():  # keras.callbacks.TensorBoard's writers
            writer.flush()
