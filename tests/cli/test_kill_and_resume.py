"""SIGKILL a `keras-llm train` run at a chosen point, resume it with `--resume`, and end with the weights an
uninterrupted run reaches, every epoch logged exactly once in history.csv and TensorBoard.

Every trainer (GPT, masked LM, classifier, tagger, translator; the RNN baselines share the GPT's
trainer) is killed through the failpoint hook of keras_llm.training.backup (KERAS_LLM_FAILPOINT):
mid-epoch, after the epoch's logs but before its backup, in the middle of writing the backup,
right after it, and after the last epoch before the final model is saved. The default run kills
two trainers (GPT mid-epoch, classifier mid-backup); `-m slow` runs every trainer at every point.
"""

import os
import random
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_llm  # noqa: F401  (registers the layers, so final.keras loads)
from tests.conftest import run_cli
from tests.training.test_resume import _logged_epochs, logged_events

# Two in the default run (the TensorBoard CLI test kills a GPT run after its first backup too);
# `-m slow` covers every trainer at every point.
SQUAD_FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "squad_tiny.json")
# Default-suite budget (2026-11-30): one kill point by default; every trainer and point under -m slow.
# The default case trains with Muon (gpt-shakespeare-char-muon): its optimizer state (momenta, and AdamW
# moments for the embeddings) is the larger one to restore; AdamW's resume runs in the slow set and in
# tests/training/test_resume.py.
DEFAULT_CASES = [("gpt-muon", "mid-epoch@1:0")]
POINTS = ["mid-epoch@1:0", "before-backup@1", "mid-backup@1", "after-backup@0", "train-end@3"]
SLOW_CASES = [(trainer, point) for trainer in ("gpt", "masked-lm", "classifier", "tagger", "translator", "qa")
              for point in POINTS if (trainer, point) not in DEFAULT_CASES]


@pytest.fixture(scope="module")
def data_files(tmp_path_factory, tiny_corpus, sentiment_csv):
    folder = tmp_path_factory.mktemp("resume_data")
    rng = random.Random(0)
    sentences = []
    for _ in range(40):
        person, place = rng.choice(["John", "Mary", "Anna"]), rng.choice(["Paris", "London", "Berlin"])
        sentences.append(f"{person}\tB-PER\nlives\tO\nin\tO\n{place}\tB-LOC\n.\tO")
    (folder / "ner.tsv").write_text("\n\n".join(sentences) + "\n", encoding="utf-8")
    (folder / "ner_valid.tsv").write_text("\n\n".join(sentences[:8]) + "\n", encoding="utf-8")
    pairs = ["I am cold .\tTengo frío .", "I am hot .\tTengo calor .", "we are cold .\tTenemos frío .",
             "we are hot .\tTenemos calor .", "she is cold .\tElla tiene frío ."] * 6
    (folder / "pairs.tsv").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    return {"corpus": tiny_corpus, "csv": sentiment_csv, "ner": folder / "ner.tsv",
            "ner_valid": folder / "ner_valid.tsv", "pairs": folder / "pairs.tsv"}


def _command(trainer, files):
    """The recipe and tiny flags of each trainer: 3 epochs each, a few steps per epoch."""
    steps = ["--steps", "6", "--eval-interval", "2", "--eval-batches", "1"]
    return {
        "gpt": ["gpt-shakespeare-char", "--corpus", files["corpus"], *steps, "--max-length", "16", "--num-layers",
                "1", "--hidden-dim", "16", "--batch-size", "4", "--histograms"],
        # --steps-per-execution 1: the kill points are per step (the recipe runs ten steps per call). The
        # resumed run goes back to the recipe's ten, cut to 2 to end on each 2-step evaluation, which must
        # not change the numbers either.
        "gpt-muon": ["gpt-shakespeare-char-muon", "--corpus", files["corpus"], *steps, "--max-length", "16",
                     "--num-layers", "1", "--hidden-dim", "16", "--batch-size", "4", "--steps-per-execution", "1"],
        "masked-lm": ["bert-mlm", "--corpus", files["corpus"], *steps, "--batch-size", "4"],
        "classifier": ["bert-classifier", "--train", files["csv"], "--text-column", "review", "--label-column",
                       "sentiment", "--epochs", "3", "--batch-size", "16", "--max-length", "16"],
        "tagger": ["tagger", "--train", files["ner"], "--valid", files["ner_valid"], "--epochs", "3", "--num-layers",
                   "1", "--hidden-dim", "16", "--batch-size", "16", "--max-length", "16"],
        "translator": ["translator", "--pairs", files["pairs"], *steps, "--batch-size", "8", "--num-layers", "1",
                       "--hidden-dim", "16", "--max-length", "8"],
        # extractive QA: the nine-question SQuAD fixture, windows of 32 pieces (several per context)
        "qa": ["qa", "--train", SQUAD_FIXTURE, "--valid", SQUAD_FIXTURE, "--epochs", "3", "--num-layers", "1",
               "--hidden-dim", "16", "--batch-size", "32", "--max-length", "32"],
    }[trainer] + ["--no-jit"]


def _train(run_dir, argv, failpoint=None, wait=True):
    """`keras-llm train` in a subprocess; with ``wait=False`` the running ``Popen`` (to overlap two runs)."""
    env = {**os.environ, "TF_DETERMINISTIC_OPS": "1"}
    if failpoint:
        env["KERAS_LLM_FAILPOINT"] = failpoint
    if wait:
        return run_cli("train", *argv, "--run-dir", run_dir, env=env)
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    return subprocess.Popen([script, "train", *map(str, argv), "--run-dir", str(run_dir)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finished(process):
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _weights(run_dir):
    return keras.models.load_model(os.path.join(run_dir, "final.keras"), compile=False).get_weights()


_uninterrupted = {}


def _reference(trainer, files, tmp_path_factory):
    """One uninterrupted run per trainer for the whole module (it runs while the crashing run, started
    first, runs too: most of a tiny run is process start-up, which overlaps well)."""
    if trainer not in _uninterrupted:
        run_dir = tmp_path_factory.mktemp(f"straight-{trainer}") / "run"
        completed = _finished(_train(run_dir, _command(trainer, files), wait=False))
        assert completed.returncode == 0, completed.stderr[-3000:]
        # No TensorFlow C++ log lines (E0000 ... util.cc:131] oneDNN ...) and no progress-bar redraws in a log.
        assert not re.search(r"^[IWEF]\d{4} \d\d:\d\d:", completed.stderr, re.M), completed.stderr[-3000:]
        assert "\r" not in completed.stdout
        _uninterrupted[trainer] = run_dir
    return _uninterrupted[trainer]


def _kill_and_resume(trainer, point, files, tmp_path, tmp_path_factory):
    run_dir = tmp_path / "crashed"
    crashing = _train(run_dir, _command(trainer, files), failpoint=point, wait=False)
    straight = _reference(trainer, files, tmp_path_factory)
    killed = _finished(crashing)
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-3000:])
    assert not os.path.exists(run_dir / "final.keras") or point.startswith("train-end")
    resumed = run_cli("train", _command(trainer, files)[0], "--resume", run_dir, env={"TF_DETERMINISTIC_OPS": "1"})
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    for ours, theirs in zip(_weights(run_dir), _weights(straight), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-6, rtol=0)
    assert _logged_epochs(run_dir) == _logged_epochs(straight)
    epochs, steps = _logged_epochs(straight)
    assert epochs == sorted(set(epochs)) and len(steps) == len(set(steps)) == len(epochs)
    # Every TensorBoard event (step scalars, attention maps, histograms, samples) exactly once.
    assert logged_events(run_dir) == logged_events(straight)
    return run_dir, resumed


@pytest.mark.parametrize("trainer, point", DEFAULT_CASES)
def test_kill_then_resume_equals_an_uninterrupted_run(trainer, point, data_files, tmp_path, tmp_path_factory):
    _kill_and_resume(trainer, point, data_files, tmp_path, tmp_path_factory)


@pytest.mark.slow
@pytest.mark.parametrize("trainer, point", SLOW_CASES)
def test_kill_at_every_point_then_resume(trainer, point, data_files, tmp_path, tmp_path_factory):
    _kill_and_resume(trainer, point, data_files, tmp_path, tmp_path_factory)


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_a_damaged_newest_backup_falls_back_with_its_own_epoch_count(data_files, tmp_path, tmp_path_factory):
    straight = _reference("gpt", data_files, tmp_path_factory)
    run_dir = tmp_path / "crashed"
    assert _train(run_dir, _command("gpt", data_files), failpoint="after-backup@1").returncode == -9
    newest = sorted(os.listdir(run_dir / "backup"))[-1]
    weights = run_dir / "backup" / newest / "weights.weights.h5"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated
    resumed = run_cli("train", "gpt-shakespeare-char", "--resume", run_dir, env={"TF_DETERMINISTIC_OPS": "1"})
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"backup {newest} is damaged (weights.weights.h5 is missing, truncated or changed); resuming from " \
           f"epoch-000001 instead" in resumed.stdout
    for ours, theirs in zip(_weights(run_dir), _weights(straight), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-6, rtol=0)
    assert _logged_epochs(run_dir) == _logged_epochs(straight)


@pytest.mark.slow  # default-suite budget: a second model family / old spelling; the slow run keeps it
def test_a_classifier_fine_tuned_from_the_masked_lm_run_inherits_its_length(data_files, tmp_path, tmp_path_factory):
    """The hand-off `keras-llm train bert-mlm` suggests (its run above, 64 positions; the classifier
    recipe's default is 128): the length is lowered with a note; an explicit longer one is refused."""
    mlm_run = _reference("masked-lm", data_files, tmp_path_factory)
    argv = ["train", "bert-classifier", "--train", data_files["csv"], "--text-column", "review", "--label-column",
            "sentiment", "--init-from", mlm_run, "--epochs", "1", "--no-jit"]
    tuned = run_cli(*argv, "--run-dir", tmp_path / "tuned")
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    assert "max_length 128 → 64" in tuned.stdout
    refused = run_cli(*argv, "--max-length", "100", "--run-dir", tmp_path / "refused")
    assert refused.returncode == 2 and "at most 64" in refused.stderr, refused.stderr[-3000:]
    assert not (tmp_path / "refused").exists()
