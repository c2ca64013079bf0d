"""What `keras-llm train` writes to TensorBoard, read back with TensorBoard's own reader.

Two tiny GPT runs of 20 steps with an evaluation every 10 and a loss point every 5: one with
`--histograms`, killed right after its first backup and resumed with `--resume RUN_DIR` alone (so
the flag must come back from the run's record, and the events written after the backup must be
trimmed); one without the flag, uninterrupted.
"""

import csv
import io
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util

from keras_llm.training.optimizers import warmup_cosine_schedule
from tests.conftest import run_cli
from tests.training.test_resume import logged_events

STEPS, INTERVAL, LOG_EVERY = 20, 10, 5
EVALUATIONS = [10, 20]


def _argv(corpus, run_dir, *flags):
    return ["train", "gpt-shakespeare-char", "--corpus", corpus, "--steps", STEPS, "--eval-interval", INTERVAL,
            "--log-every", LOG_EVERY, "--eval-batches", "2", "--batch-size", "8", "--max-length", "16",
            "--num-layers", "2", "--hidden-dim", "16", "--no-jit", "--run-dir", run_dir, *flags]


DETERMINISTIC = {"TF_DETERMINISTIC_OPS": "1"}


def _start(argv, env=None):
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    return subprocess.Popen([script, *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **DETERMINISTIC, **(env or {})})


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_corpus):
    base = tmp_path_factory.mktemp("tensorboard")
    with_histograms, without = base / "histograms", base / "plain"
    # Both start together (most of a tiny run is start-up); the first dies after the backup of evaluation 1.
    killed = _start(_argv(tiny_corpus, with_histograms, "--histograms"), {"KERAS_LLM_FAILPOINT": "after-backup@0"})
    plain = _start(_argv(tiny_corpus, without))
    _, stderr = killed.communicate(timeout=600)
    assert killed.returncode == -9, stderr[-3000:]
    _, stderr = plain.communicate(timeout=600)
    assert plain.returncode == 0, stderr[-3000:]
    resumed = run_cli("train", "gpt-shakespeare-char", "--resume", with_histograms, env=DETERMINISTIC)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return with_histograms, without


def _reader(run_dir, run):
    accumulator = event_accumulator.EventAccumulator(str(run_dir / "logs" / run), size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def _scalars(run_dir, run, tag):
    return [(event.step, float(tensor_util.make_ndarray(event.tensor_proto)))
            for event in _reader(run_dir, run).Tensors(tag)]


def _history(run_dir):
    with open(run_dir / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("which", [0, 1])
def test_loss_learning_rate_and_validation_are_keyed_by_optimizer_step(runs, which):
    run_dir = runs[which]
    training = json.loads((run_dir / "run.json").read_text())["training"]
    history = _history(run_dir)

    loss = _scalars(run_dir, "train", "loss")
    assert [step for step, _ in loss] == [5, 10, 15, 20]
    # Each point is the mean loss of its 5 steps, so each interval's two points average to the
    # interval's training loss that Keras reports (history.csv).
    for epoch, row in enumerate(history):
        window = [value for step, value in loss if epoch * INTERVAL < step <= (epoch + 1) * INTERVAL]
        np.testing.assert_allclose(np.mean(window), float(row["loss"]), rtol=1e-5)

    schedule = warmup_cosine_schedule(training["learning_rate"], training["steps"], training["warmup_steps"],
                                      training["min_learning_rate"])
    rates = _scalars(run_dir, "train", "learning_rate")
    assert [step for step, _ in rates] == [5, 10, 15, 20]
    np.testing.assert_allclose([rate for _, rate in rates], [float(schedule(step - 1)) for step, _ in rates],
                               rtol=1e-6)

    validation = _scalars(run_dir, "validation", "loss")
    assert [step for step, _ in validation] == EVALUATIONS
    np.testing.assert_allclose([value for _, value in validation], [float(row["val_loss"]) for row in history],
                               rtol=1e-6)
    assert [step for step, _ in _scalars(run_dir, "validation", "perplexity")] == EVALUATIONS
    assert [step for step, _ in _scalars(run_dir, "train", "perplexity")] == EVALUATIONS


@pytest.mark.parametrize("which", [0, 1])
def test_one_attention_image_per_layer_per_evaluation(runs, which):
    attention = _reader(runs[which], "attention")
    assert sorted(attention.Tags()["tensors"]) == ["decoder_block_0/self_attention", "decoder_block_1/self_attention"]
    for tag in attention.Tags()["tensors"]:
        events = attention.Tensors(tag)
        assert [event.step for event in events] == EVALUATIONS
        for event in events:
            width, height, png = event.tensor_proto.string_val
            image = keras.ops.convert_to_numpy(keras.utils.img_to_array(
                keras.utils.load_img(io.BytesIO(png))))
            assert image.shape[:2] == (int(height), int(width)) and int(width) > 300
            assert image.std() > 10  # a drawing, not a blank canvas


def test_histograms_only_with_the_flag_and_kept_on_resume(runs):
    with_histograms, without = runs
    assert not (without / "logs" / "histograms").exists()
    histograms = _reader(with_histograms, "histograms")
    tags = set(histograms.Tags()["tensors"])
    model = keras.models.load_model(with_histograms / "final.keras", compile=False)
    assert {f"weights/{variable.path}" for variable in model.trainable_variables} <= tags
    layers = {tag for tag in tags if tag.startswith("gradient_norm/")}
    assert {"gradient_norm/decoder_block_0/self_attention/query", "gradient_norm/token_embedding"} <= layers
    for tag in tags:  # the resumed run wrote its histograms too: `--resume` took --histograms from the record
        assert [event.step for event in histograms.Tensors(tag)] == EVALUATIONS, tag
    norms = tensor_util.make_ndarray(histograms.Tensors("gradient_norm/token_embedding")[0].tensor_proto)
    assert norms[:, 2].sum() == 2  # one norm per gradient batch: both of the 2 validation batches
    assert json.loads((with_histograms / "run.json").read_text())["training"]["histograms"] is True
    assert json.loads((without / "run.json").read_text())["training"]["histograms"] is False


def test_the_resumed_run_logs_every_event_once_like_the_uninterrupted_one(runs):
    with_histograms, without = runs
    # Histograms, attention maps and step logging leave training alone: the same final weights.
    for ours, theirs in zip(*(keras.models.load_model(run / "final.keras", compile=False).get_weights()
                              for run in runs), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-6, rtol=0)
    resumed = {key: steps for key, steps in logged_events(with_histograms).items() if key[0] != "histograms"}
    assert resumed == logged_events(without)
    assert all(steps == sorted(set(steps)) for steps in logged_events(with_histograms).values())
