"""Callbacks beyond Keras' own: text samples in TensorBoard and on the console, a wall-clock limit."""

import math
import os
import time

import keras
import tensorflow as tf

from keras_llm.errors import TrainingDiverged, UserInputError
from keras_llm.files import atomic_file_path


class TextSampleCallback(keras.callbacks.Callback):
    """At the end of each epoch (each evaluation), generate text and log it.

    The sample goes to TensorBoard as a text summary (tag ``sample``, run ``samples``
    under ``log_dir``) and is printed below the progress bar.

    Args:
        sample_fn: ``() -> str``, e.g. a closure over ``keras_llm.generation.generate``.
        log_dir: the TensorBoard log directory of the run.
        steps_per_epoch: to log the sample at the global step it was taken.
        verbose: print the sample.
    """

    def __init__(self, sample_fn, log_dir, steps_per_epoch, verbose=True):
        super().__init__()
        self.sample_fn = sample_fn
        self.log_dir = log_dir
        self.steps_per_epoch = steps_per_epoch
        self.verbose = verbose
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if not _finite((logs or {}).get("loss")):
            return  # a diverged model (the guard stops the run) only writes noise
        text = self.sample_fn()
        step = self._step(epoch)
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))
        with self._writer.as_default():
            # Markdown code block so TensorBoard keeps line breaks and spacing.
            tf.summary.text("sample", "```\n" + text + "\n```", step=step)
        self._writer.flush()
        if self.verbose:
            print(f"\n--- sample after {step} steps ---\n{text}\n---", flush=True)

    def _step(self, epoch):
        """The optimizer steps taken: an epoch stopped early (time budget, divergence) ran fewer than planned."""
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        return int(iterations.numpy()) if iterations is not None else (epoch + 1) * self.steps_per_epoch

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()


class TimeLimit(keras.callbacks.Callback):
    """Stop training once ``seconds`` of wall-clock time have passed since training began.

    Checked after every batch (and at every epoch end), so training overruns the limit by at
    most one step; Keras still runs the epoch's validation before stopping, so the last
    evaluation is taken where training stopped. The clock starts at ``on_train_begin``, so
    the first step's tracing/compilation counts against the budget.

    Args:
        seconds: the budget, > 0.

    Attributes:
        stopped: True when the limit (not the step count) ended training.
        elapsed: seconds from the start of training to the stop (or to the end of training).

    Example:
        >>> model.fit(data, epochs=1000, steps_per_epoch=100, callbacks=[TimeLimit(60)])
    """

    def __init__(self, seconds):
        super().__init__()
        if not seconds > 0:
            raise UserInputError(f"TimeLimit needs seconds > 0; got {seconds!r}")
        self.seconds = float(seconds)
        self.stopped = False
        self.elapsed = 0.0
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self.stopped = False

    def check(self):
        """Set ``model.stop_training`` if the budget is spent; returns whether it is."""
        if self._start is None:
            self._start = time.perf_counter()
        self.elapsed = time.perf_counter() - self._start
        if self.elapsed >= self.seconds:
            self.stopped = True
            self.model.stop_training = True
        return self.stopped

    def on_train_batch_end(self, batch, logs=None):
        self.check()

    def on_epoch_end(self, epoch, logs=None):
        self.check()

    def on_train_end(self, logs=None):
        if self._start is not None:
            self.elapsed = time.perf_counter() - self._start


class DivergenceGuard(keras.callbacks.Callback):
    """Stop as soon as the training loss is NaN or infinite, remembering where.

    Unlike ``keras.callbacks.TerminateOnNaN`` it records the step, so the trainer can refuse to
    save the diverged weights and raise :class:`~keras_llm.errors.TrainingDiverged` with one
    clear message; the last checkpoint written before the divergence stays the best one.
    """

    def __init__(self):
        super().__init__()
        self.diverged_at = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged_at = int(self.model.optimizer.iterations.numpy())
            self.model.stop_training = True

    def raise_if_diverged(self, checkpoint):
        if self.diverged_at is not None:
            kept = f"the last good checkpoint is {checkpoint}" if os.path.exists(checkpoint) else \
                "no checkpoint was written before it"
            raise TrainingDiverged(f"training diverged at step {self.diverged_at}: the loss became NaN or "
                                   f"infinite; {kept}. Try a lower learning rate.")


def _finite(value):
    return value is None or math.isfinite(float(value))


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the model to ``path`` (a ``.keras`` file) whenever ``monitor`` reaches a new minimum.

    Written atomically (a temporary file renamed onto ``path``), so a crash mid-save keeps the
    previous best. Never saves when the loss or the monitored value is NaN/infinite, so an epoch
    cut short by divergence cannot overwrite the last good checkpoint with NaN weights.

    Args:
        path: where the best model goes.
        monitor: the epoch log to minimise (default ``val_loss``).
        initial_value_threshold: a resumed run's best so far (from history.csv): only a better
            epoch replaces the checkpoint written before the interruption.
    """

    def __init__(self, path, monitor="val_loss", initial_value_threshold=None):
        super().__init__()
        self.path = path
        self.monitor = monitor
        self.best = initial_value_threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None or not (_finite(logs.get("loss")) and _finite(value)):
            return
        if self.best is None or float(value) < self.best:
            self.best = float(value)
            with atomic_file_path(self.path) as tmp_path:
                self.model.save(tmp_path)
