"""The callbacks every training run gets, and where a run directory keeps its files.

A run directory holds ``backup/`` (BackupAndRestore: weights, optimizer state, epoch),
``best.keras`` (lowest validation loss), ``final.keras``, ``history.csv`` (one row per epoch)
and ``logs/`` (TensorBoard). After a crash the same call resumes: the backup restores the
state, ``history.csv`` is appended to, and the best checkpoint is only replaced by a better one
than any epoch logged before the crash.

Example:
    >>> callbacks, guard, resumed_epochs = run_callbacks("runs/x", extra_callbacks=[early_stopping])
    >>> model.fit(train.skip(resumed_epochs * steps_per_epoch), callbacks=callbacks, ...)
    >>> guard.raise_if_diverged(run_paths("runs/x")["best"])
"""

import os

import keras

from keras_llm.training.callbacks import DivergenceGuard, FiniteModelCheckpoint
from keras_llm.training.resume import best_logged, completed_epochs


def run_paths(run_dir):
    """Where a run keeps its files."""
    return {
        "logs": os.path.join(run_dir, "logs"),
        "backup": os.path.join(run_dir, "backup"),
        "best": os.path.join(run_dir, "best.keras"),
        "final": os.path.join(run_dir, "final.keras"),
        "history": os.path.join(run_dir, "history.csv"),
    }


def run_callbacks(run_dir, extra_callbacks=()):
    """``(callbacks, divergence_guard, completed_epochs)`` for a run in ``run_dir``.

    Order matters: the backup first; the best checkpoint and the NaN guard next; the extras;
    then history.csv and TensorBoard last, so they log what the others add to the epoch logs.
    ``completed_epochs`` is 0 for a fresh run; a resumed run must skip that many epochs of
    its (deterministic) input so it sees the batches an uninterrupted run would have seen.
    """
    paths = run_paths(run_dir)
    resumed = completed_epochs(paths["backup"])
    guard = DivergenceGuard()
    callbacks = [
        # Two copies of the backup, so a crash while one is being written leaves the other.
        keras.callbacks.BackupAndRestore(paths["backup"], double_checkpoint=True),
        FiniteModelCheckpoint(paths["best"], monitor="val_loss", save_best_only=True,
                              initial_value_threshold=best_logged(paths["history"], "val_loss") if resumed else None),
        guard,
        *extra_callbacks,
        keras.callbacks.CSVLogger(paths["history"], append=bool(resumed)),
        keras.callbacks.TensorBoard(paths["logs"], update_freq="epoch"),
    ]
    return callbacks, guard, resumed
