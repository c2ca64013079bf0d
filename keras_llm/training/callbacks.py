"""Callbacks beyond Keras' own: text samples in TensorBoard and on the console, a wall-clock limit,
and the record of how a run's training ended."""

import json
import math
import os
import time

import keras
import tensorflow as tf

from keras_llm.errors import TrainingDiverged, UserInputError
from keras_llm.files import atomic_file_path, atomic_write_text, read_json_object


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


def time_budget_seconds(max_minutes, name="max_minutes"):
    """``max_minutes`` as seconds (None stays None); a budget that is not a positive, finite number is refused.

    Example:
        >>> time_budget_seconds(1.5)
        90.0
    """
    if max_minutes is None:
        return None
    try:
        minutes = float(max_minutes)
    except (TypeError, ValueError):
        raise UserInputError(f"{name} must be a number of minutes; got {max_minutes!r}") from None
    if isinstance(max_minutes, bool) or not (math.isfinite(minutes) and minutes > 0):
        raise UserInputError(f"{name} must be a positive, finite number of minutes; got {max_minutes!r}")
    return 60.0 * minutes


# How a run's training ended (run.json's ``trained.stopped_by``).
TIME_LIMIT, EARLY_STOPPING, PLANNED_END = "time_limit", "early_stopping", "planned_end"


class TrainingOutcome(keras.callbacks.Callback):
    """At the end of ``fit``, record how training ended in the run's ``run.json`` (when there is one).

    Adds ``"trained": {"steps", "planned_steps", "max_minutes", "stopped_by", "seconds"}``:
    ``steps`` are the optimizer steps the model has taken (a resumed run counts those before its
    resumption too), ``planned_steps`` those the run would take uninterrupted (epochs × steps per
    epoch), ``stopped_by`` one of :data:`TIME_LIMIT`, :data:`EARLY_STOPPING` or
    :data:`PLANNED_END`, ``seconds`` the wall time of this ``fit`` call. When the time limit ended
    training, ``log`` gets one line saying so.

    Args:
        run_info_path: the run's ``run.json``; nothing is written if it does not exist (a model
            trained outside a run).
        time_limit: the run's :class:`TimeLimit`, or None.
        log: where the one-line notice goes.

    Example:
        >>> outcome = TrainingOutcome("runs/x/run.json", TimeLimit(60)).watch(callbacks)
    """

    def __init__(self, run_info_path, time_limit=None, log=print):
        super().__init__()
        self.run_info_path = run_info_path
        self.time_limit = time_limit
        self.log = log
        self.record = None
        self._others = []
        self._start = None

    def watch(self, callbacks):
        """Let the record see the run's early stopping; returns self."""
        self._others = list(callbacks)
        return self

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_train_end(self, logs=None):
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        steps = int(iterations.numpy()) if iterations is not None else None
        planned = (self.params.get("epochs") or 0) * (self.params.get("steps") or 0) or None
        stopped_early = any(isinstance(callback, keras.callbacks.EarlyStopping) and callback.stopped_epoch > 0
                            for callback in self._others)
        cut = self.time_limit is not None and self.time_limit.stopped and (planned is None or steps < planned)
        stopped_by = TIME_LIMIT if cut and not stopped_early else EARLY_STOPPING if stopped_early else PLANNED_END
        minutes = None if self.time_limit is None else self.time_limit.seconds / 60.0
        self.record = {"steps": steps, "planned_steps": planned, "max_minutes": minutes, "stopped_by": stopped_by,
                       "seconds": round(time.perf_counter() - (self._start or time.perf_counter()), 3)}
        if stopped_by == TIME_LIMIT:
            self.log(f"time limit: max_minutes {minutes:g} spent after {self.record['seconds']:.1f} s; "
                     f"{steps} of {planned} planned steps trained, the best checkpoint is kept")
        if os.path.isfile(self.run_info_path):
            info = read_json_object(self.run_info_path)
            atomic_write_text(self.run_info_path, json.dumps({**info, "trained": self.record}, indent=2))


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
