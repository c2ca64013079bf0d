"""Fine-tuning defaults through `keras-llm train` (issue 19): warm-up as a fraction of the planned steps,
the kept model is the best validation epoch, and a run whose predictions collapse to one class says so.

Two tiny runs serve the module (the recipe's small BERT on a few sentences, 16 tokens, no XLA):
- ``best_run``: validation labels are the opposite of what the training texts teach, so validation
  loss rises after the first epoch and early stopping keeps epoch 1; ``--warmup-fraction 0.5``.
- ``collapsed_run``: 64 positive and 4 negative training texts, balanced validation: every validation
  prediction is "pos".
Under ``-m slow``: a run started as one from before warm-up fractions would have been (run.json with
``warmup_steps`` and no ``warmup_fraction``, killed right after run.json) resumes with its warm-up steps.
"""

import argparse
import csv
import json
import math
import os

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util

from keras_llm.cli.classifier import warmup_fraction
from keras_llm.evaluation.collapse import collapse_message
from keras_llm.runs import load_recipe
from keras_llm.runs.classifier import ClassifierTrainingConfig, _training_settings
from keras_llm.training.optimizers import WarmupLinearDecay, warmup_steps_of
from tests.conftest import NEGATIVE, POSITIVE, assert_one_line_error, run_cli

TINY = ["--text-column", "review", "--label-column", "sentiment", "--batch-size", "8", "--max-length", "16",
        "--no-jit", "--log-every", "1"]
WARNING = "keras-llm: warning: "


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([("review", "sentiment"), *rows])
    return path


def _history(run_dir):
    with open(run_dir / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _learning_rates(run_dir):
    events = event_accumulator.EventAccumulator(str(run_dir / "logs" / "train"), size_guidance={"tensors": 0})
    events.Reload()
    return [(event.step, float(tensor_util.make_ndarray(event.tensor_proto)))
            for event in events.Tensors("learning_rate")]


def _warnings(stderr):
    return [line for line in stderr.splitlines() if line.startswith(WARNING)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("finetune-data")
    taught = [(text, "pos") for text in POSITIVE] + [(text, "neg") for text in NEGATIVE]
    flipped = [(text, "neg" if label == "pos" else "pos") for text, label in taught]
    return {
        "train": _write(folder / "train.csv", taught * 4),
        "flipped": _write(folder / "flipped.csv", flipped),
        "skewed": _write(folder / "skewed.csv", [(text, "pos") for text in POSITIVE] * 8 + [(NEGATIVE[0], "neg")] * 4),
        "balanced": _write(folder / "balanced.csv", taught),
    }


@pytest.fixture(scope="module")
def best_run(data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("finetune-best") / "run"
    completed = run_cli("train", "bert-classifier", "--run-dir", run_dir, "--train", data["train"], "--valid",
                        data["flipped"], "--epochs", "6", "--learning-rate", "3e-3", "--warmup-fraction", "0.5", *TINY)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return run_dir, completed


def _collapsing_argv(data, run_dir):
    return ["train", "bert-classifier", "--run-dir", run_dir, "--train", data["skewed"], "--valid", data["balanced"],
            "--epochs", "2", "--learning-rate", "3e-3", *TINY]


@pytest.fixture(scope="module")
def collapsed_run(data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("finetune-collapsed") / "run"
    completed = run_cli(*_collapsing_argv(data, run_dir))
    assert completed.returncode == 0, completed.stderr[-3000:]
    return run_dir, completed


def test_the_warm_up_is_the_given_fraction_of_the_planned_steps(best_run):
    run_dir, _ = best_run
    training = json.loads((run_dir / "run.json").read_text())["training"]
    assert (training["warmup_fraction"], training["warmup_steps"]) == (0.5, None)
    steps_per_epoch = math.ceil(len(POSITIVE + NEGATIVE) * 4 / 8)
    total = 6 * steps_per_epoch  # planned: epochs × steps per epoch, whether or not early stopping cuts it
    schedule = WarmupLinearDecay(3e-3, total // 2, total)
    rates = _learning_rates(run_dir)
    assert len(rates) == len(_history(run_dir)) * steps_per_epoch
    np.testing.assert_allclose([rate for _, rate in rates], [float(schedule(step - 1)) for step, _ in rates],
                               rtol=1e-6)
    assert rates[1][1] < rates[10][1] < rates[20][1]  # still rising through the first half


def test_the_saved_model_is_the_best_validation_epoch(best_run, data, tmp_path):
    run_dir, completed = best_run
    history = _history(run_dir)
    losses = [float(row["val_loss"]) for row in history]
    best = int(np.argmin(losses))
    assert best < len(history) - 1 < 5, losses  # early stopping ended the run after a worse epoch
    assert f"Restoring model weights from the end of the best epoch: {best + 1}" in completed.stdout
    final = keras.models.load_model(run_dir / "final.keras", safe_mode=True)
    kept = keras.models.load_model(run_dir / "best.keras", safe_mode=True)
    for saved, best_weights in zip(final.get_weights(), kept.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, best_weights)
    # What `evaluate` (the export's code path) scores on the validation file is the best epoch's score.
    evaluated = run_cli("evaluate", run_dir, "--test", data["flipped"], "--output-dir", tmp_path / "eval")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(float(history[best]["val_accuracy"]), abs=1e-6)


def test_a_collapsed_run_says_so_once_at_the_end_of_training(collapsed_run):
    _, completed = collapsed_run
    assert _warnings(completed.stderr) == [
        f"{WARNING}validation predictions collapsed to one class (pos: 16, neg: 0)"], completed.stderr[-3000:]


def test_evaluate_names_the_collapse_with_the_class_counts(collapsed_run, data, tmp_path):
    run_dir, _ = collapsed_run
    evaluated = run_cli("evaluate", run_dir, "--test", data["balanced"], "--output-dir", tmp_path / "eval")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert _warnings(evaluated.stderr) == [
        f"{WARNING}predictions on balanced.csv collapsed to one class (pos: 16, neg: 0)"], evaluated.stderr
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["accuracy"] == 0.5


@pytest.mark.slow
def test_a_run_json_from_before_warm_up_fractions_resumes_with_its_warm_up_steps(data, tmp_path):
    run_dir = tmp_path / "run"
    started = run_cli(*_collapsing_argv(data, run_dir), env={"KERAS_LLM_FAILPOINT": "run-written"})
    assert started.returncode != 0 and (run_dir / "run.json").is_file(), started.stderr[-3000:]
    # What a run started before warm-up fractions recorded: warm-up steps, no fraction.
    info = json.loads((run_dir / "run.json").read_text())
    del info["training"]["warmup_fraction"]
    info["training"]["warmup_steps"] = 3
    (run_dir / "run.json").write_text(json.dumps(info))
    resumed = run_cli("train", "bert-classifier", "--resume", run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run_dir / "run.json").read_text())["training"]["warmup_steps"] == 3
    total = 2 * math.ceil((len(POSITIVE) * 8 + 4) / 8)
    schedule = WarmupLinearDecay(3e-3, 3, total)
    rates = _learning_rates(run_dir)
    assert [step for step, _ in rates] == list(range(1, total + 1))
    np.testing.assert_allclose([rate for _, rate in rates], [float(schedule(step - 1)) for step, _ in rates],
                               rtol=1e-6)


def test_a_resumed_run_keeps_the_training_settings_its_run_json_recorded(tmp_path):
    old = {"epochs": 3, "learning_rate": 5e-5, "warmup_steps": 500, "max_length": 128}  # no warmup_fraction
    (tmp_path / "run.json").write_text(json.dumps({"model": "bert-classifier", "training": old}))
    recipe = load_recipe("bert-classifier")
    settings = _training_settings(recipe, str(tmp_path), {"epochs": 3})
    assert (settings.warmup_steps, settings.warmup_fraction) == (500, recipe["training"]["warmup_fraction"])
    assert _training_settings(recipe, str(tmp_path), {"warmup_fraction": 0.2}).warmup_steps is None
    fresh = _training_settings(recipe, str(tmp_path / "new"), {})
    assert (fresh.warmup_steps, fresh.learning_rate) == (None, recipe["training"]["learning_rate"])


def test_a_warm_up_fraction_outside_0_to_1_is_refused(tmp_path):
    completed = run_cli("train", "bert-classifier", "--run-dir", tmp_path / "run", "--warmup-fraction", "1")
    assert_one_line_error(completed, "--warmup-fraction", "must be in [0, 1)")
    assert not os.path.exists(tmp_path / "run" / "run.json")
    for value in ("-0.1", "nan", "inf"):
        with pytest.raises(argparse.ArgumentTypeError):
            warmup_fraction(value)


def test_warm_up_steps_of_a_run():
    assert warmup_steps_of(750, warmup_fraction=0.06) == 45
    assert warmup_steps_of(750, warmup_fraction=0.0) == 0
    assert warmup_steps_of(150, warmup_fraction=0.1, warmup_steps=500) == 75  # explicit steps: capped at half
    assert warmup_steps_of(150, warmup_fraction=0.1, warmup_steps=20) == 20
    with pytest.raises(Exception, match="warmup_fraction must be in"):
        ClassifierTrainingConfig(warmup_fraction=float("nan"))


def test_collapse_message_only_for_one_predicted_class_among_several_gold_classes():
    names = ["negative", "positive"]
    assert collapse_message([0, 1, 1], [0, 1, 0], names, "x") is None
    assert collapse_message([1, 1], [1, 1], names, "x") is None  # the set holds one class: no collapse
    assert collapse_message([1], [0], names, "x") is None
    topics = [f"topic{i}" for i in range(13)]
    assert collapse_message([4] * 30, [0, 4, 7] * 10, topics, "validation predictions") == (
        "validation predictions collapsed to one class (topic4: 30, each of the other 12 classes: 0)")


def test_a_run_from_pretrained_weights_takes_the_recipes_pretrained_training():
    recipe = load_recipe("bert-classifier")
    scratch = _training_settings(recipe, None, {})
    pretrained = _training_settings(recipe, None, {}, pretrained=True)
    assert scratch.learning_rate == recipe["training"]["learning_rate"]
    assert pretrained.learning_rate == recipe["pretrained_training"]["learning_rate"] < scratch.learning_rate / 5
    assert _training_settings(recipe, None, {"learning_rate": 0.5}, pretrained=True).learning_rate == 0.5
