"""The training progress display: Keras' progress bar, truthful about epochs that stop early.

Keras' own ``ProgbarLogger`` ends every epoch's bar at the planned step count, so an epoch cut
short (a time budget, the divergence guard) shows ``250/250`` and a time per step divided by
steps that never ran. :class:`TrainingProgress` draws the same bar (``verbose=1``, a terminal) or
the same one line per epoch (``verbose=2``, a log file), but ends it at the step reached, and says
in one line when training stopped before its planned steps:

    Epoch 1/8
    3/250 - 2s - 410ms/step - loss: 4.1702 - val_loss: 4.0623
    stopped early: 3 of 2000 planned steps trained

Trainers pass ``verbose=0`` to ``model.fit`` and put :func:`progress_callbacks` last.

Example:
    >>> model.fit(data, epochs=8, steps_per_epoch=250, verbose=0,
    ...           callbacks=[*callbacks, *progress_callbacks(verbose)])
"""

import keras
from keras.utils import Progbar


def progress_callbacks(verbose):
    """``[TrainingProgress(verbose)]``, or no callback for ``verbose=0``."""
    return [TrainingProgress(verbose)] if verbose else []


class TrainingProgress(keras.callbacks.Callback):
    """Progress of ``model.fit`` counted in the steps that actually ran.

    Args:
        verbose: 1 (a redrawn bar, for terminals) or 2 (one line per epoch, for logs and pipes).
        print_fn: where the closing "stopped early" line goes (default ``print``).

    Attributes:
        steps_trained: optimizer steps run by this ``fit`` call (a resumed run counts from its resumption).
    """

    def __init__(self, verbose=1, print_fn=print):
        super().__init__()
        self.verbose = verbose
        self.print_fn = print_fn
        self.steps_trained = 0
        self._bar = None
        self._seen = 0
        self._first_epoch = None

    def on_train_begin(self, logs=None):
        self.steps_trained = 0
        self._first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
        if self.params.get("epochs", 1) > 1:
            self.print_fn(f"Epoch {epoch + 1}/{self.params['epochs']}", flush=True)
        self._seen = 0
        self._bar = Progbar(self.params.get("steps"), verbose=self.verbose, unit_name="step",
                            stateless_metrics=set())

    def on_train_batch_end(self, batch, logs=None):
        # ``batch`` is the epoch's last step index run so far (several per call under steps_per_execution).
        self.steps_trained += batch + 1 - self._seen
        self._seen = batch + 1
        if self.verbose == 1:
            self._bar.update(self._seen, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar.target is None:  # a dataset of unknown length: its first epoch sets it
            self._bar.target = self._seen
        # The bar ends at the step reached, not at the planned count: the time per step stays true.
        self._bar.update(self._seen, list((logs or {}).items()), finalize=True)

    def on_train_end(self, logs=None):
        planned = self.planned_steps()
        if planned is not None and self._first_epoch is not None and self.steps_trained < planned:
            self.print_fn(f"stopped early: {self.steps_trained} of {planned} planned steps trained", flush=True)

    def planned_steps(self):
        """Steps this ``fit`` call would run without an early stop (None when the epoch length is unknown)."""
        steps, epochs = self.params.get("steps"), self.params.get("epochs")
        if steps is None or epochs is None or self._first_epoch is None:
            return None
        return steps * (epochs - self._first_epoch)
