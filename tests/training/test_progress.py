"""TrainingProgress: one line per epoch counted in the steps that ran, and a line when training stops early."""

import re

import keras
import numpy as np
import pytest

from keras_llm.training.callbacks import TextSampleCallback, TimeLimit
from keras_llm.training.progress import TrainingProgress, progress_callbacks


class StopAfter(keras.callbacks.Callback):
    """Stops training after the ``batch``-th step of epoch ``epoch`` (as TimeLimit or the divergence guard would)."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch, self._current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self._current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self._current, batch + 1) == (self.epoch, self.batch):
            self.model.stop_training = True


def _fit(callbacks, epochs=3, steps=10, steps_per_execution=1):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=steps_per_execution)
    x, y = np.ones((steps * 4, 2), "float32"), np.ones((steps * 4, 1), "float32")
    model.fit(x, y, batch_size=4, epochs=epochs, validation_data=(x[:4], y[:4]), callbacks=callbacks, verbose=0)


def _lines(text):
    return [(int(run), int(planned)) for run, planned in re.findall(r"^\s*(\d+)/(\d+) - \d+s - ", text, re.M)]


def test_a_run_that_finishes_prints_every_epoch_in_full_and_no_stop_line(capsys):
    progress = TrainingProgress(verbose=2)
    _fit([progress])
    out = capsys.readouterr().out
    assert _lines(out) == [(10, 10)] * 3 and "Epoch 3/3" in out and "val_loss" in out
    assert "stopped early" not in out and progress.steps_trained == 30


@pytest.mark.parametrize("steps_per_execution", [1, 2])
def test_an_epoch_cut_short_ends_at_the_step_it_reached(capsys, steps_per_execution):
    progress = TrainingProgress(verbose=2)
    _fit([StopAfter(epoch=1, batch=4), progress], steps_per_execution=steps_per_execution)
    out = capsys.readouterr().out
    assert _lines(out) == [(10, 10), (4, 10)], out  # Keras' own logger prints "10/10" for the second epoch
    assert "stopped early: 14 of 30 planned steps trained" in out
    assert progress.steps_trained == 14


def test_time_per_step_is_over_the_steps_that_ran(capsys, monkeypatch):
    clock = iter(range(0, 10_000, 1))  # every time.time() call: one more second
    monkeypatch.setattr("keras.src.utils.progbar.time.time", lambda: float(next(clock)))
    _fit([StopAfter(epoch=0, batch=2), TrainingProgress(verbose=2)], epochs=1)
    line = capsys.readouterr().out.splitlines()[0]
    seconds, per_step = map(int, re.match(r"\s*2/10 - (\d+)s - (\d+)s/step", line).groups())
    assert seconds >= 4 and abs(2 * per_step - seconds) <= 2, line  # over the 2 steps run, not the 10 planned


def test_the_time_limit_stops_mid_epoch_and_says_so(capsys):
    _fit([TimeLimit(1e-9), TrainingProgress(verbose=2)])
    out = capsys.readouterr().out
    assert _lines(out) == [(1, 10)] and "stopped early: 1 of 30 planned steps trained" in out, out


def test_the_text_sample_is_labelled_with_the_steps_that_ran(capsys, tmp_path):
    sample = TextSampleCallback(lambda: "some text", str(tmp_path), steps_per_epoch=10)
    _fit([StopAfter(epoch=1, batch=4), sample], steps_per_execution=1)
    out = capsys.readouterr().out
    assert "--- sample after 10 steps ---" in out and "--- sample after 14 steps ---" in out, out


def test_verbose_0_adds_no_callback():
    assert progress_callbacks(0) == [] and isinstance(progress_callbacks(2)[0], TrainingProgress)
