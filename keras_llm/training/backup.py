"""Crash-safe backups of a training run, taken at the end of every epoch, for exact resume.

Keras' ``BackupAndRestore`` writes its weights and its epoch counter in place, one after the
other, and keeps neither the random-number state of dropout nor the state of early stopping;
a run killed at the wrong moment resumes from a half-written file, with the wrong epoch count,
or with other dropout masks. :class:`RunBackup` instead writes each backup as a *generation*,
``backup/epoch-000006/``, into a temporary folder that is fsynced and renamed into place, so a
generation is either complete or absent. Each holds:

- ``weights.weights.h5``: model and optimizer variables (``model.save_weights``);
- ``state.json``: the epoch count, the state of every dropout layer's seed generator and of
  early stopping, the time the backup was taken, and the size and CRC-32 of every file in the
  generation, so truncation or corruption is detected on resume;
- ``early_stopping_best.npz``: early stopping's best weights, when it keeps them;
- ``lora_adapters.npz``: a LoRA run's unmerged kernels and adapters (``save_weights`` keeps merged kernels only).

On resume the newest intact generation is used; a damaged newest one is reported in one line
and the previous one is used *with its own epoch count*. The last two generations are kept.

Example:
    >>> backup = RunBackup("runs/x/backup")
    >>> train = train.skip(backup.resumed_epochs * steps_per_epoch)
    >>> model.fit(train, callbacks=[*others, backup.watch(others)])   # last: it backs up what they logged
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
        log: receives the one-line notice when a damaged backup is skipped.

    Attributes:
        resumed_epochs: epochs finished by the generation that will be restored (0 for a new run);
            known at construction, so the input stream can skip them before ``fit``.
        resumed_time: when that generation was taken (``time.time()``), or None.
    """

    def __init__(self, backup_dir, log=print):
        super().__init__()
        self.backup_dir = backup_dir
        self._generation, self._state = newest_intact_generation(backup_dir, log)
        self.resumed_epochs = int(self._state["epoch"]) if self._state else 0
        self.resumed_time = self._state.get("time") if self._state else None
        self._epoch = self.resumed_epochs
        self._others = []

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

    def on_train_batch_end(self, batch, logs=None):
        failpoint("mid-epoch", self._epoch, batch)

    def watch(self, callbacks):
        """Let the backup see the run's other callbacks (early stopping, TensorBoard writers); returns self."""
        self._others = list(callbacks)
        return self

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch + 1
        _flush_tensorboard(self._others)
        failpoint("before-backup", epoch)
        self._write_generation(epoch + 1)
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
        state = {"epoch": epochs_done, "time": time.time(),
                 "seed_generators": [np.asarray(g.state).tolist() for g in _seed_generators(self.model)],
                 "early_stopping": {}}
        for callback in self._early_stoppers():
            state["early_stopping"] = _early_stopping_state(callback, folder)
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


def _early_stopping_state(callback, folder):
    if callback.best_weights is not None:
        np.savez(os.path.join(folder, BEST_WEIGHTS), *callback.best_weights)
    best = callback.best
    return {"wait": int(callback.wait), "best": None if best is None else float(best),
            "best_epoch": int(callback.best_epoch), "stopped_epoch": int(callback.stopped_epoch),
            "has_best_weights": callback.best_weights is not None}


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
