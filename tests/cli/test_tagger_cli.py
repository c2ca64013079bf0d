"""A tiny tagger run through `keras-llm train/tag`: learning, run files, --init-from, bad input (exit 2)."""

import json
import random

import keras
import numpy as np
import pytest

from keras_llm.cli import main
from keras_llm.runs.tagger import load_tagger_run
from tests.conftest import run_cli

TINY = ["--num-layers", "1", "--hidden-dim", "32", "--batch-size", "8", "--max-length", "24", "--no-jit",
        "--learning-rate", "5e-3"]


def ner_sentences(count, seed=0):
    rng = random.Random(seed)
    sentences = []
    for index in range(count):
        person, place = rng.choice(["John", "Mary", "Anna"]), rng.choice(["Paris", "London", "Berlin"])
        words = [(person, "B-PER"), ("lives", "O"), ("in", "O"), (place, "B-LOC"), (".", "O")]
        if index % 3 == 0:
            words = [("Dr", "B-PER"), (person, "I-PER"), *words[1:]]
        sentences.append("\n".join(f"{word}\t{tag}" for word, tag in words))
    return "\n\n".join(sentences) + "\n"


@pytest.fixture(scope="module")
def ner_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ner")
    (folder / "train.tsv").write_text("-DOCSTART-\tO\n\n" + ner_sentences(60), encoding="utf-8")
    (folder / "valid.tsv").write_text(ner_sentences(12, seed=1) + "\nJohn\tB-ORG\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def tagger_run(ner_files):
    run_dir = ner_files / "run"
    code = main(["train", "tagger", "--train", str(ner_files / "train.tsv"), "--valid", str(ner_files / "valid.tsv"),
                 "--run-dir", str(run_dir), "--epochs", "3", *TINY])
    assert code == 0
    return run_dir


def test_training_learns_and_writes_the_run(tagger_run):
    info = json.loads((tagger_run / "run.json").read_text())
    assert info["model"] == "token-classifier" and info["tags"] == ["B-LOC", "B-PER", "I-PER", "O"]
    assert info["entity_metrics"] is True
    metrics = json.loads((tagger_run / "valid_metrics.json").read_text())
    assert metrics["accuracy"] > 0.9 and metrics["entity_f1"] > 0.8, metrics
    assert metrics["unknown_tag_words"] == 1  # the B-ORG word of valid.tsv: counted, not scored
    for name in ("best.keras", "final.keras", "tokenizer/tokenizer.json", "logs"):
        assert (tagger_run / name).exists(), name


def test_tag_command_prints_word_tag_score(tagger_run, capsys):
    assert main(["tag", str(tagger_run), "--text", "Mary lives in Berlin.", "--text", "   "]) == 0
    lines = capsys.readouterr().out.split("\n")
    rows = [line.split("\t") for line in lines[:5]]
    assert [row[0] for row in rows] == ["Mary", "lives", "in", "Berlin", "."]
    assert [row[1] for row in rows] == ["B-PER", "O", "O", "B-LOC", "O"]
    assert all(0.0 < float(row[2]) <= 1.0 for row in rows)
    assert lines[5:] == ["", "", ""]  # a blank line after each text; the blank text has no words


def test_init_from_an_earlier_tagger_run(tagger_run, ner_files, capsys):
    run_dir = ner_files / "again"
    start = ["train", "tagger", "--train", str(ner_files / "train.tsv"), "--run-dir", str(run_dir),
             "--init-from", str(tagger_run), "--epochs", "1"]
    assert main([*start, *TINY]) == 2  # the pretrained encoder keeps its shape: --num-layers/--hidden-dim refused
    assert "keeps its own shape" in capsys.readouterr().err
    assert main([*start, *TINY[4:]]) == 0
    model, _, info = load_tagger_run(str(run_dir))
    assert info["init_from"] == str(tagger_run)
    assert json.loads((run_dir / "valid_metrics.json").read_text())["accuracy"] > 0.9
    assert model.get_layer("bert_backbone").get_layer("token_embedding").input_dim == \
        load_tagger_run(str(tagger_run))[0].get_layer("bert_backbone").get_layer("token_embedding").input_dim


@pytest.mark.parametrize("content, extra, message", [
    (None, [], "needs a training file"),
    ("a\tO\nb\tO\tX\n", [], "train.tsv:2: expected 2 columns"),
    ("a\tO\n", ["--format", "conllu"], "train.tsv:1: expected 10"),
    ("a\tO\n", ["--tag-column", "upos"], "applies to CoNLL-U"),
    ("a\tO\n", [], "has one sentence"),
    ("w\tO\n" * 1200, [], "are the blank lines between sentences missing"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, content, extra, message):
    argv = ["train", "tagger", "--run-dir", str(tmp_path / "r"), *extra]
    if content is not None:
        (tmp_path / "train.tsv").write_text(content, encoding="utf-8")
        argv += ["--train", str(tmp_path / "train.tsv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_tag_on_a_missing_run_exits_2(tmp_path, capsys):
    assert main(["tag", str(tmp_path), "--text", "hello"]) == 2
    assert "not a keras-llm run directory" in capsys.readouterr().err


def test_several_steps_per_call_train_each_epoch_exactly(tagger_run, ner_files, tmp_path):
    # 60 sentences in batches of 8 are 8 steps an epoch. Keras runs whole calls, so 3 steps per call
    # would train 9 steps in the first epoch (and run out of data in the last). The trainer cuts the calls
    # to the largest divisor of both (here 1 step), so the run equals tagger_run's, which took 1 per call.
    run_dir = tmp_path / "spe"
    completed = run_cli("train", "tagger", "--train", ner_files / "train.tsv", "--valid", ner_files / "valid.tsv",
                        "--run-dir", run_dir, "--epochs", "3", "--steps-per-execution", "3", *TINY)
    assert completed.returncode == 0, completed.stderr[-3000:]
    one_per_call, three_per_call = (np.loadtxt(run / "history.csv", delimiter=",", skiprows=1)
                                    for run in (tagger_run, run_dir))
    np.testing.assert_allclose(three_per_call, one_per_call, rtol=1e-5)
    assert int(keras.saving.load_model(run_dir / "final.keras").optimizer.iterations.numpy()) == 3 * 8
