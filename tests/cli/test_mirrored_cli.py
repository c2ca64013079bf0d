"""`keras-llm train ... --strategy mirrored --cpu-replicas 2` through the console script.

A CPU-only machine asks for 2 logical CPU devices with --cpu-replicas; the global batch is split
over the 2 replicas and the gradients all-reduced, so the run must reach the weights of a
single-device run with the same global batch (float round-off aside: the two halves of the
batch are summed in another order).
"""

import csv

import keras
import numpy as np
import pytest

import keras_llm  # noqa: F401  (registers the layers, so final.keras loads)
from tests.conftest import assert_one_line_error, run_cli

TINY = ["--steps", "4", "--eval-interval", "2", "--eval-batches", "1", "--max-length", "16", "--num-layers", "1",
        "--hidden-dim", "16", "--batch-size", "8", "--learning-rate", "1e-2", "--no-jit"]


def _train(tiny_corpus, run_dir, *strategy_flags):
    completed = run_cli("train", "gpt-shakespeare-char", "--corpus", tiny_corpus, *TINY, "--run-dir", run_dir,
                        *strategy_flags)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stderr == "", completed.stderr[-3000:]
    with open(run_dir / "history.csv", newline="") as handle:
        losses = [float(row["loss"]) for row in csv.DictReader(handle)]
    return completed.stdout, keras.models.load_model(run_dir / "final.keras").get_weights(), losses


@pytest.fixture(scope="module")
def single_device(tiny_corpus, tmp_path_factory):
    return _train(tiny_corpus, tmp_path_factory.mktemp("single") / "run", "--strategy", "default")


@pytest.mark.slow  # default-suite budget (2026-11-30): the multi-worker CLI test covers strategies by default
def test_two_logical_cpus_reach_the_single_device_weights(single_device, tiny_corpus, tmp_path):
    out, weights, losses = _train(tiny_corpus, tmp_path / "run", "--strategy", "mirrored", "--cpu-replicas", "2")
    assert "strategy: mirrored (2 replicas)" in out, out
    single_out, single_weights, single_losses = single_device
    assert "strategy: default (1 replica)" in single_out, single_out
    assert losses[1] < losses[0]  # it trained
    np.testing.assert_allclose(losses, single_losses, rtol=1e-5)
    for mirrored, single in zip(weights, single_weights, strict=True):
        np.testing.assert_allclose(mirrored, single, atol=1e-5, rtol=0)


def test_cpu_replicas_with_another_strategy_is_one_line(tiny_corpus, tmp_path):
    completed = run_cli("train", "bert-classifier", "--train", tiny_corpus, "--strategy", "default",
                        "--cpu-replicas", "2", "--run-dir", tmp_path / "run")
    # bert-classifier does not refuse the flag as unused: every recipe accepts it.
    assert_one_line_error(completed, "--cpu-replicas needs --strategy mirrored")
