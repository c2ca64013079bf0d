"""The callbacks every training run gets, and where a run directory keeps its files.

A run directory holds ``backup/`` (crash-safe generations: weights, optimizer, dropout RNG and
early-stopping state, epoch; :mod:`keras_llm.training.backup`), ``best.keras`` (lowest
validation loss), ``final.keras``, ``history.csv`` (one row per epoch) and ``logs/``
(TensorBoard, keyed by optimizer step: scalars, attention maps, optional histograms; see
docs/tensorboard.md). After a crash the same call resumes: the newest intact backup is restored, the
epoch it did not cover is removed from history.csv and TensorBoard (it is trained again), and
the best checkpoint is only replaced by a better epoch than any logged before the crash.

Example:
    >>> callbacks, guard, resumed_steps = run_callbacks("runs/x", 100, extra_callbacks=[early_stopping])
    >>> model.fit(train.skip(resumed_steps), steps_per_epoch=100, callbacks=callbacks, ...)
    >>> guard.raise_if_diverged(run_paths("runs/x")["best"])
"""

import dataclasses
import os
import shutil

import keras

from keras_llm.files import atomic_file_path
from keras_llm.training.attention_images import AttentionImages
from keras_llm.training.backup import RunBackup
from keras_llm.training.callbacks import (
    BestModelCheckpoint,
    DivergenceGuard,
    TimeLimit,
    TrainingOutcome,
    time_budget_seconds,
)
from keras_llm.training.histograms import WeightHistograms
from keras_llm.training.resume import best_logged, trim_history, trim_tensorboard_events
from keras_llm.training.step_logging import StepScalars

RUN_FILE = "run.json"


def run_paths(run_dir):
    """Where a run keeps its files (the one definition of the run-directory layout)."""
    return {
        "run_info": os.path.join(run_dir, RUN_FILE),
        "tokenizer": os.path.join(run_dir, "tokenizer"),
        "logs": os.path.join(run_dir, "logs"),
        "backup": os.path.join(run_dir, "backup"),
        "best": os.path.join(run_dir, "best.keras"),
        "final": os.path.join(run_dir, "final.keras"),
        "history": os.path.join(run_dir, "history.csv"),
    }


@dataclasses.dataclass
class TensorBoardSettings:
    """What a run writes to TensorBoard besides its scalars (docs/tensorboard.md).

    Args:
        log_every: optimizer steps between training-loss (and learning-rate) points.
        validation_data: the run's validation batches; with it, attention maps of the first
            example (models with attention layers) and, with ``histograms``, gradient norms.
        vocabulary: token names by id for the attention maps' axes (a list, or
            ``{"source": ..., "target": ...}`` for a translator).
        histograms: weight and gradient-norm histograms at every evaluation.
        attention_images: the attention maps (matplotlib draws each layer in about half a second,
            at every evaluation; a recipe tuned for time to quality turns them off).
    """

    log_every: int = 20
    validation_data: object = None
    vocabulary: object = None
    histograms: bool = False
    attention_images: bool = True

    @classmethod
    def of(cls, config, validation_data=None, vocabulary=None):
        """The settings a training config asks for (its ``log_every``, ``histograms`` and, where it has
        the setting, ``attention_images``)."""
        return cls(log_every=config.log_every, validation_data=validation_data, vocabulary=vocabulary,
                   histograms=config.histograms, attention_images=getattr(config, "attention_images", True))

    def callbacks(self, log_dir):
        callbacks = [StepScalars(log_dir, self.log_every)]
        if self.validation_data is not None:
            if self.attention_images:
                callbacks.append(AttentionImages(log_dir, self.validation_data, self.vocabulary))
            if self.histograms:
                callbacks.append(WeightHistograms(log_dir, self.validation_data))
        return callbacks


def run_callbacks(run_dir, steps_per_epoch, extra_callbacks=(), log=print, tensorboard=None,
                  validation_callbacks=(), max_minutes=None):
    """``(callbacks, divergence_guard, completed_steps)`` for a run in ``run_dir`` fitted with ``steps_per_epoch``.

    ``max_minutes`` (the run's time budget, every trainer's ``config.max_minutes``) stops training
    once that much wall time has passed since ``fit`` began (the epoch under way is cut short, its
    validation and checkpoint still run); how training ended goes into run.json's ``trained``
    (:class:`~keras_llm.training.callbacks.TrainingOutcome`).

    Order matters: ``validation_callbacks`` first (they put ``val_*`` numbers into the epoch logs,
    e.g. a classifier's per-document validation over windows); then the best checkpoint and the NaN
    guard; the extras; history.csv and
    TensorBoard (as ``tensorboard``, a :class:`TensorBoardSettings`, asks), so they log what the
    others add to the epoch logs; the backup last, so an epoch counts as done only once
    everything about it is on disk (TensorBoard events included: a resumed run trims the events
    of every file under ``logs/`` written after the backup it resumes from).
    ``completed_steps`` is 0 for a fresh run; a resumed run must skip that many batches of its
    (deterministic) input so it sees the batches an uninterrupted run would have seen (a run cut
    mid-epoch resumes mid-epoch: :class:`~keras_llm.training.backup.RunBackup`).
    """
    paths = run_paths(run_dir)
    backup = RunBackup(paths["backup"], steps_per_epoch, log=log)
    # Every evaluation logged so far, the cut epoch's too: best.keras may hold that epoch's weights,
    # so only a better one may replace it after the resume.
    best_so_far = best_logged(paths["history"], "val_loss")
    if backup.resumed_steps:
        trim_history(paths["history"], backup.resumed_epochs)  # the cut epoch's row comes again, whole
        trim_tensorboard_events(paths["logs"], backup.resumed_time)
    else:  # a fresh start, or a restart after a kill before the first backup: no epoch is done yet
        shutil.rmtree(paths["logs"], ignore_errors=True)
        if os.path.isfile(paths["history"]):
            os.remove(paths["history"])
    os.makedirs(run_dir, exist_ok=True)  # history.csv opens at the start of training
    guard = DivergenceGuard()
    seconds = time_budget_seconds(max_minutes)
    time_limit = TimeLimit(seconds) if seconds else None
    callbacks = [
        backup.realigner(),
        *validation_callbacks,
        BestModelCheckpoint(paths["best"], initial_value_threshold=best_so_far),
        guard,
        *([time_limit] if time_limit else []),
        *extra_callbacks,
        keras.callbacks.CSVLogger(paths["history"], append=True),
        *(tensorboard or TensorBoardSettings()).callbacks(paths["logs"]),
    ]
    callbacks.append(TrainingOutcome(paths["run_info"], time_limit, log).watch(callbacks))
    callbacks.append(backup.watch(callbacks))
    return callbacks, guard, backup.resumed_steps


def save_final_model(model, path):
    """``model.save(path)`` through a temporary file, so a crash leaves no half-written ``final.keras``."""
    with atomic_file_path(path) as tmp_path:
        model.save(tmp_path)
