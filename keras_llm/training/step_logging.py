"""TensorBoard scalars keyed by optimizer step: training loss every few steps, the learning rate,
and every metric at each evaluation.

One "epoch" is one evaluation interval for the recipes counted in steps (GPT, masked LM,
translator) and a real epoch for the classifiers and taggers; either way the x axis here is the
optimizer step, so runs with different intervals compare on one axis. The runs and tags
(docs/tensorboard.md):

- run ``train``: ``loss`` every ``log_every`` steps, the mean of the batch losses since the
  previous point (a point also closes each evaluation interval); ``learning_rate`` at the same
  steps, the rate the optimizer used for that step's update; at each evaluation the other
  training metrics of the interval (``perplexity``, ``accuracy``, ...);
- run ``validation``: every validation metric (``loss``, ``perplexity``, ``bleu``, ...) at the
  step the evaluation was taken.

Train and validation share tag names, so TensorBoard draws them in one chart.

Example:
    >>> callbacks = [StepScalars("runs/x/logs", log_every=20)]
    >>> model.fit(train, epochs=8, steps_per_epoch=250, validation_data=valid, callbacks=callbacks)
"""

import os

import keras
import tensorflow as tf

from keras_llm.checks import positive_int

TRAIN_RUN = "train"
VALIDATION_RUN = "validation"
LOSS = "loss"
LEARNING_RATE = "learning_rate"


class StepAwareCallback(keras.callbacks.Callback):
    """A callback that knows the optimizer step of the batch that just ended (``self.global_step``).

    Counted as the optimizer's step count at the epoch's start (read once per epoch) plus the
    batches of the epoch so far, which is ``optimizer.iterations`` for every trainer here without
    reading a variable each batch. A resumed run starts where its backup stopped, also mid-epoch
    (the first epoch of a run resumed after a time limit makes up the cut epoch's missing steps).
    """

    def __init__(self):
        super().__init__()
        self.global_step = 0
        self._epoch = 0
        self._epoch_start = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        self._epoch_start = int(iterations.numpy()) if iterations is not None else \
            epoch * (self.params.get("steps") or 0)
        self.global_step = self._epoch_start

    def on_train_batch_end(self, batch, logs=None):
        self.global_step = self._epoch_start + batch + 1

    @property
    def steps_this_epoch(self):
        """Batches trained in the epoch under way."""
        return self.global_step - self._epoch_start


class RunWriterCallback(StepAwareCallback):
    """A step-aware callback writing to one TensorBoard run (``<log_dir>/<run_name>``): the writer opens on
    first use, ``flush_events`` flushes it (the backup calls it) and training's end closes it."""

    run_name = None

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir
        self._writer = None

    def writer(self):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, self.run_name))
        return self._writer

    def flush_events(self):
        if self._writer is not None:
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def learning_rate_at(optimizer, step):
    """The learning rate ``optimizer`` uses for update number ``step`` (1-based), as a float.

    Keras evaluates a schedule at ``iterations`` before each update, i.e. at ``step - 1``.
    """
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # a LossScaleOptimizer wraps the real one
    rate = optimizer._learning_rate  # noqa: SLF001  (Keras keeps no public handle on the schedule itself)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        return float(rate(max(step - 1, 0)))
    return float(keras.ops.convert_to_numpy(rate))


class StepScalars(StepAwareCallback):
    """Write the run's scalars by optimizer step to ``log_dir/train`` and ``log_dir/validation``.

    Keras reports ``loss`` after each batch as the mean since the epoch began; the mean over a
    window of batches follows from two such running means, so no per-step value has to leave
    the compiled training step.

    Args:
        log_dir: the run's TensorBoard folder (``RUN_DIR/logs``).
        log_every: steps between training-loss points (>= 1).
    """

    def __init__(self, log_dir, log_every=20):
        super().__init__()
        self.log_dir = log_dir
        self.log_every = positive_int("log_every", log_every)
        self._writers = {}
        self._window_start = (0, 0.0)  # (batches of this epoch, their loss sum) at the last point

    def _writer(self, run):
        if run not in self._writers:
            self._writers[run] = tf.summary.create_file_writer(os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._window_start = (0, 0.0)

    def on_train_batch_end(self, batch, logs=None):
        before = self.global_step
        super().on_train_batch_end(batch, logs)
        # With steps_per_execution > 1 Keras reports once per call: log when a multiple was crossed.
        if self.global_step // self.log_every > before // self.log_every:
            self._log_loss_window(batch + 1, (logs or {}).get(LOSS))

    def _log_loss_window(self, batches, running_mean):
        if running_mean is None:
            return
        done, total = self._window_start
        if batches <= done:
            return
        loss_sum = float(running_mean) * batches
        with self._writer(TRAIN_RUN).as_default():
            tf.summary.scalar(LOSS, (loss_sum - total) / (batches - done), step=self.global_step)
            if self.model.optimizer is not None:
                tf.summary.scalar(LEARNING_RATE, learning_rate_at(self.model.optimizer, self.global_step),
                                  step=self.global_step)
        self._window_start = (batches, loss_sum)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._log_loss_window(self.steps_this_epoch, logs.get(LOSS))  # the interval's last steps
        for name, value in sorted(logs.items()):
            if not isinstance(value, (int, float)):
                continue
            if name.startswith("val_"):
                run, tag = VALIDATION_RUN, name[len("val_"):]
            elif name not in (LOSS, LEARNING_RATE):  # those two are logged by step above
                run, tag = TRAIN_RUN, name
            else:
                continue
            with self._writer(run).as_default():
                tf.summary.scalar(tag, value, step=self.global_step)
        self.flush_events()

    def flush_events(self):
        """Put every event written so far on disk (the backup, taken next, counts on it)."""
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
