"""`keras-llm evaluate` / `predict` on a tiny NER tagger run: word and entity scores (cross-checked against
predict's own output), CoNLL and table predictions equal to the exported SavedModel's, and bad input."""

import json
import random

import numpy as np
import pytest
import tensorflow as tf

from keras_llm.cli import main
from keras_llm.training.entity_metrics import entity_scores
from tests.conftest import assert_one_line_error, run_cli

TINY = ["--num-layers", "1", "--hidden-dim", "32", "--batch-size", "8", "--max-length", "24", "--no-jit",
        "--learning-rate", "5e-3", "--epochs", "2"]
LONG_SENTENCE = 30  # words of one piece each: 22 fit into max_length 24 ([CLS] … [SEP]), 8 are not tagged


def _sentences(count, seed):
    rng = random.Random(seed)
    sentences = []
    for index in range(count):
        person, place = rng.choice(["John", "Mary", "Anna"]), rng.choice(["Paris", "London", "Berlin"])
        words = [(person, "B-PER"), ("lives", "O"), ("in", "O"), (place, "B-LOC"), (".", "O")]
        if index % 3 == 0:
            words = [("Dr", "B-PER"), (person, "I-PER"), *words[1:]]
        sentences.append(words)
    return sentences


def _conll(sentences):
    return "\n\n".join("\n".join(f"{word}\t{tag}" for word, tag in sentence) for sentence in sentences) + "\n"


@pytest.fixture(scope="module")
def tagger_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluate-tagger")
    (folder / "train.tsv").write_text(_conll(_sentences(60, seed=0)), encoding="utf-8")
    assert main(["train", "tagger", "--train", str(folder / "train.tsv"), "--run-dir", str(folder / "run"), *TINY]) == 0
    return folder / "run"


@pytest.fixture(scope="module")
def test_sentences():
    """Tagged like training, plus an unseen tag (B-ORG) and a sentence longer than max_length."""
    return _sentences(12, seed=1) + [[("Anna", "B-ORG"), ("works", "O")], [("in", "O")] * LONG_SENTENCE]


def test_evaluate_scores_words_and_entities_as_predict_tags_them(tagger_run, test_sentences, tmp_path):
    test_file = tmp_path / "test.tsv"
    test_file.write_text(_conll(test_sentences), encoding="utf-8")
    completed = run_cli("evaluate", tagger_run, "--test", test_file)
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    metrics = json.loads((tagger_run / "evaluation" / "test" / "metrics.json").read_text())
    words = sum(map(len, test_sentences))
    assert metrics["counts"]["words"] == words and metrics["counts"]["sentences"] == 14
    assert metrics["counts"]["untagged_words"] == LONG_SENTENCE - 22
    assert metrics["unseen_tags"] == {"B-ORG": 1} and metrics["per_tag"]["B-ORG"]["recall"] == 0.0
    assert set(metrics["per_tag"]) == {"B-LOC", "B-PER", "I-PER", "O", "B-ORG"}
    assert {"entity_precision", "entity_recall", "entity_f1"} <= set(metrics) and "ORG" in metrics["entity_per_type"]
    assert (tagger_run / "evaluation" / "test" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert "tags the run never saw, counted as errors: B-ORG (1 word)" in completed.stdout
    assert "8 words were past max_length and not tagged: counted as errors" in completed.stdout
    assert f"F1 {metrics['entity_f1']:.4f}" in completed.stdout
    assert "evaluate: 14/14 sentences (100%)" in completed.stdout

    # predict appends a column to the same file; scoring that column by hand gives evaluate's numbers
    tagged = tmp_path / "tagged.tsv"
    assert main(["predict", str(tagger_run), "--input", str(test_file), "--output", str(tagged)]) == 0
    blocks = [[line.split("\t") for line in block.splitlines()] for block in tagged.read_text().split("\n\n")
              if block.strip()]
    assert [[(w, g) for w, g, _ in block] for block in blocks] == [list(map(tuple, s)) for s in test_sentences]
    gold = [[g for _, g, _ in block] for block in blocks]
    predicted = [[p for _, _, p in block] for block in blocks]
    assert sum(p == "_" for sentence in predicted for p in sentence) == LONG_SENTENCE - 22
    correct = sum(g == p for gs, ps in zip(gold, predicted) for g, p in zip(gs, ps))
    assert metrics["accuracy"] == pytest.approx(correct / words)
    entity = entity_scores(gold, [[p if p != "_" else "O" for p in ps] for ps in predicted])
    assert metrics["entity_f1"] == pytest.approx(entity["f1"])


@pytest.mark.slow  # kept out of the default run for time; `make test-all` runs it
def test_predict_tables_and_conll_match_the_saved_model(tagger_run, tmp_path):
    texts = ["Mary lives in Berlin.", "Dr John, lives in Paris", "", "in " * 40]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)), encoding="utf-8")
    completed = run_cli("predict", tagger_run, "--input", jsonl, "--output", tmp_path / "out.jsonl")
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == [0, 1, 2, 3]
    assert records[0]["tokens"] == ["Mary", "lives", "in", "Berlin", "."] and records[2]["tokens"] == []

    assert main(["export", str(tagger_run), "--base-dir", str(tmp_path / "export"), "--name", "tagger"]) == 0
    serve = tf.saved_model.load(str(tmp_path / "export" / "tagger" / "1")).signatures["serving_default"]
    served = serve(texts=tf.constant(texts))
    for i, record in enumerate(records):
        n = int(served["lengths"][i])
        assert record["tokens"] == [t.decode() for t in served["tokens"][i, :n].numpy()]
        assert record["predicted_tags"] == [t.decode() for t in served["tags"][i, :n].numpy()]
        np.testing.assert_allclose(record["tag_scores"], served["scores"][i, :n].numpy(), atol=2e-6)
    assert len(records[3]["tokens"]) == 22  # cut at max_length, as the export cuts

    # CSV: space-separated columns; CoNLL words (no splitting) get the tags the export gives the same text
    (tmp_path / "in.csv").write_text("text\n" + "\n".join(f'"{t}"' for t in texts[:2]) + "\n", encoding="utf-8")
    assert main(["predict", str(tagger_run), "--input", str(tmp_path / "in.csv"), "--output",
                 str(tmp_path / "out.csv")]) == 0
    header, first, second = (tmp_path / "out.csv").read_text().splitlines()
    assert header == "text,tokens,predicted_tags,tag_scores"
    assert first.split(",")[2] == " ".join(records[0]["predicted_tags"])
    conll = tmp_path / "words.conll"
    conll.write_text("\n".join(records[0]["tokens"]) + "\n", encoding="utf-8")
    assert main(["predict", str(tagger_run), "--input", str(conll), "--output", str(tmp_path / "words.out")]) == 0
    lines = (tmp_path / "words.out").read_text().splitlines()
    assert [line.split("\t") for line in lines[:-1]] == [list(pair) for pair in
                                                         zip(records[0]["tokens"], records[0]["predicted_tags"])]


def _bad_input_cases(folder):
    (folder / "reviews.csv").write_text("review,sentiment\ngood film,pos\n", encoding="utf-8")
    (folder / "empty.tsv").write_text("\n\n", encoding="utf-8")
    (folder / "latin1.tsv").write_bytes("Mary\tB-PER\nCafé\tO\n".encode("latin-1"))
    (folder / "ok.tsv").write_text("Mary\tB-PER\n", encoding="utf-8")
    (folder / "a_file").write_text("", encoding="utf-8")
    f = lambda name: str(folder / name)  # noqa: E731
    return [
        (["evaluate", "--test", f("reviews.csv")], ["reviews.csv:1: expected 2 columns", "evaluated on CoNLL"]),
        (["evaluate", "--test", f("empty.tsv")], ["empty.tsv is empty"]),
        (["evaluate", "--test", f("latin1.tsv")], ["latin1.tsv is not valid UTF-8 (line 2"]),
        (["evaluate", "--test", f("ok.tsv"), "--output-dir", f("a_file/x")], ["not a folder"]),
        (["evaluate", "--test", f("ok.tsv"), "--label-column", "x"], ["--label-column is not used"]),
        (["predict", "--input", f("reviews.csv"), "--output", f("o.csv")], ["no column 'text'; its columns are: "
                                                                             "review, sentiment"]),
        (["predict", "--input", f("empty.tsv"), "--output", f("o.tsv")], ["empty.tsv is empty"]),
        (["predict", "--input", f("latin1.tsv"), "--output", f("o.tsv")], ["not valid UTF-8 (line 2)"]),
        (["predict", "--input", f("ok.tsv"), "--output", f("a_file/o.tsv")], ["a_file is a file, not a folder"]),
    ]


@pytest.mark.parametrize("case", range(9))
def test_bad_input_is_one_line_and_exit_2(tagger_run, tmp_path, capsys, case):
    (command, *argv), fragments = _bad_input_cases(tmp_path)[case]
    assert main([command, str(tagger_run), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("keras-llm: error:"), err
    assert all(fragment in err for fragment in fragments), err
    assert not any((tmp_path / name).exists() for name in ("o.csv", "o.tsv"))


@pytest.mark.slow
@pytest.mark.parametrize("case", range(9))
def test_every_bad_input_through_the_console_script(tagger_run, tmp_path, case):
    (command, *argv), fragments = _bad_input_cases(tmp_path)[case]
    assert_one_line_error(run_cli(command, tagger_run, *argv), *fragments)
