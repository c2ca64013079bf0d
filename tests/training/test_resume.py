"""A run SIGKILLed mid-epoch and resumed ends exactly where an uninterrupted run ends.

Both runs train the same tiny GPT (tests/workers/tiny_gpt.py: 3 epochs of 4 steps, op
determinism on, XLA off) through the production trainer. The crashed run is killed at step 6,
in the middle of epoch 2, after the backup of epoch 1; then the same command resumes it.
"""

import csv
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

WORKER = os.path.join(os.path.dirname(os.path.dirname(__file__)), "workers", "tiny_gpt.py")


def _train(run_dir, out, *flags):
    command = [sys.executable, WORKER, "--steps", "12", "--eval-interval", "4", "--batch-size", "4",
               "--run-dir", str(run_dir), "--out", str(out), *flags]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(process, timeout=300):
    log, _ = process.communicate(timeout=timeout)
    return process.returncode, log


def _logged_epochs(run_dir):
    """(epochs in history.csv, steps of the validation loss in TensorBoard: one per evaluation)."""
    with open(os.path.join(run_dir, "history.csv"), newline="") as handle:
        csv_epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    accumulator = event_accumulator.EventAccumulator(os.path.join(run_dir, "logs", "validation"),
                                                     size_guidance={"tensors": 0})
    accumulator.Reload()
    tensorboard_steps = sorted(event.step for event in accumulator.Tensors("loss"))
    return csv_epochs, tensorboard_steps


def logged_events(run_dir):
    """``{(run, tag): sorted steps}`` of every event under ``logs/`` (scalars, images, text, histograms),
    read without TensorBoard's purging of out-of-order steps, so an event logged twice shows twice."""
    logs, found = os.path.join(run_dir, "logs"), {}
    for run in sorted(os.listdir(logs)):
        accumulator = event_accumulator.EventAccumulator(os.path.join(logs, run), size_guidance={"tensors": 0},
                                                         purge_orphaned_data=False)
        accumulator.Reload()
        for tag in accumulator.Tags()["tensors"]:
            found[run, tag] = sorted(event.step for event in accumulator.Tensors(tag))
    return found


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run(tmp_path):
    uninterrupted = _train(tmp_path / "straight", tmp_path / "straight.npz")
    crashed = _train(tmp_path / "crashed", tmp_path / "unused.npz", "--kill-at-step", "6")
    code, log = _finish(crashed)
    assert code == -signal.SIGKILL, log[-2000:]
    assert not (tmp_path / "unused.npz").exists()
    assert _logged_epochs(tmp_path / "crashed") == ([0], [4])  # epoch 1 done and backed up, epoch 2 cut short

    code, log = _finish(_train(tmp_path / "crashed", tmp_path / "resumed.npz"))
    assert code == 0, log[-2000:]
    code, log = _finish(uninterrupted)
    assert code == 0, log[-2000:]

    straight, resumed = np.load(tmp_path / "straight.npz"), np.load(tmp_path / "resumed.npz")
    assert np.abs(straight["final"] - straight["initial"]).max() > 1e-3
    np.testing.assert_allclose(resumed["final"], straight["final"], atol=1e-6, rtol=0)
    # The history neither repeats nor skips an epoch, in history.csv and in TensorBoard.
    assert _logged_epochs(tmp_path / "crashed") == ([0, 1, 2], [4, 8, 12])
    assert _logged_epochs(tmp_path / "straight") == ([0, 1, 2], [4, 8, 12])
    # Every TensorBoard event (step scalars, attention maps, samples) once, as in the uninterrupted run.
    assert logged_events(tmp_path / "crashed") == logged_events(tmp_path / "straight")


@pytest.mark.slow  # the console-script budget test (tests/cli/test_max_minutes.py) covers the step count by default
@pytest.mark.parametrize("stop_at", [6, 9])
def test_a_run_stopped_mid_epoch_then_resumed_equals_an_uninterrupted_run(tmp_path, stop_at):
    """A time limit ends training mid-epoch (Keras validates and ends that epoch); the resumed run makes
    up exactly the missing steps of that epoch, so every later evaluation falls where it would have."""
    uninterrupted = _train(tmp_path / "straight", tmp_path / "straight.npz")
    code, log = _finish(_train(tmp_path / "stopped", tmp_path / "stopped.npz", "--stop-at-step", str(stop_at)))
    assert code == 0, log[-2000:]
    epochs_done = stop_at // 4
    csv_epochs, tensorboard_steps = _logged_epochs(tmp_path / "stopped")
    assert csv_epochs == list(range(epochs_done + 1)) and tensorboard_steps[-1] == stop_at  # the cut epoch validated

    code, log = _finish(_train(tmp_path / "stopped", tmp_path / "resumed.npz"))
    assert code == 0, log[-2000:]
    code, log = _finish(uninterrupted)
    assert code == 0, log[-2000:]
    straight, resumed = np.load(tmp_path / "straight.npz"), np.load(tmp_path / "resumed.npz")
    np.testing.assert_allclose(resumed["final"], straight["final"], atol=1e-6, rtol=0)
    # history.csv: one row per whole epoch (the cut one's row came again, whole); TensorBoard keeps the
    # cut evaluation at the step where it was taken, beside the uninterrupted run's evaluations.
    csv_epochs, tensorboard_steps = _logged_epochs(tmp_path / "stopped")
    assert csv_epochs == [0, 1, 2]
    assert tensorboard_steps == sorted({4, 8, 12, stop_at})
