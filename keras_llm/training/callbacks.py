"""Callbacks beyond Keras' own: text samples in TensorBoard and on the console."""

import os

import keras
import tensorflow as tf


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
        text = self.sample_fn()
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))
        with self._writer.as_default():
            # Markdown code block so TensorBoard keeps line breaks and spacing.
            tf.summary.text("sample", "```\n" + text + "\n```", step=(epoch + 1) * self.steps_per_epoch)
        self._writer.flush()
        if self.verbose:
            print(f"\n--- sample after {(epoch + 1) * self.steps_per_epoch} steps ---\n{text}\n---", flush=True)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
