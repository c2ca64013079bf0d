"""`keras-llm evaluate` / `predict` on a tiny classifier run: the report, metrics.json, the PNG, TensorBoard,
predictions equal to the exported SavedModel's, and bad input (one line, exit 2)."""

import collections
import csv
import json

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from keras_llm.cli import main
from keras_llm.runs.classifier import load_classifier_run
from tests.conftest import NEGATIVE, POSITIVE, assert_one_line_error, run_cli

TINY = ["--text-column", "review", "--label-column", "sentiment", "--epochs", "2", "--batch-size", "16",
        "--max-length", "16", "--learning-rate", "2e-3", "--no-jit"]


@pytest.fixture(scope="module")
def classifier_run(sentiment_csv, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("evaluate-classifier") / "run"
    assert main(["train", "bert-classifier", "--train", str(sentiment_csv), "--run-dir", str(run_dir), *TINY]) == 0
    return run_dir


@pytest.fixture(scope="module")
def test_csv(tmp_path_factory):
    """Labelled like the training file, plus two texts of a class the run never saw."""
    rows = [(text, "pos") for text in POSITIVE] + [(text, "neg") for text in NEGATIVE]
    rows += [("it was fine, i guess", "neutral"), ("an ordinary film", "neutral")]
    path = tmp_path_factory.mktemp("evaluate-data") / "test.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([("sentiment", "review"), *[(y, x) for x, y in rows]])
    return path


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_evaluate_writes_metrics_png_tensorboard_and_the_report(classifier_run, test_csv, tmp_path):
    out_dir = tmp_path / "eval"
    completed = run_cli("evaluate", classifier_run, "--test", test_csv, "--output-dir", out_dir)
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    metrics = json.loads((out_dir / "metrics.json").read_text())
    texts = [row["review"] for row in _read_csv(test_csv)]
    _, tokenizer, _ = load_classifier_run(str(classifier_run))
    longer = int(np.sum(tokenizer.tokenize(texts).row_lengths().numpy() > 16 - 2))  # [CLS] and [SEP] take 2
    assert metrics["counts"] == {"examples": 18, "unseen_label_examples": 2, "longer_than_context": longer}
    if longer:
        assert f"{longer} of 18 texts are longer than the 16-token context" in completed.stdout
    assert metrics["unseen_labels"] == {"neutral": 2}
    confusion = metrics["confusion_matrix"]
    assert confusion["labels"] == ["neg", "pos", "neutral"]
    matrix = np.array(confusion["matrix"])
    assert matrix.sum(axis=1).tolist() == [8, 8, 2] and matrix[:, 2].tolist() == [0, 0, 0]
    assert metrics["accuracy"] == pytest.approx(np.trace(matrix) / 18)
    assert metrics["micro_f1"] == pytest.approx(metrics["accuracy"])
    assert [metrics["per_class"][label]["support"] for label in ("neg", "pos", "neutral")] == [8, 8, 2]
    mistakes = metrics["most_confident_mistakes"]
    assert len(mistakes) == min(5, 18 - np.trace(matrix))
    assert all(m["gold"] != m["predicted"] for m in mistakes)
    assert [m["probability"] for m in mistakes] == sorted((m["probability"] for m in mistakes), reverse=True)
    assert (out_dir / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"

    stdout = completed.stdout
    assert "labels the run never saw, counted as errors: neutral (2 texts)" in stdout
    assert f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}" in stdout
    assert "gold \\ predicted" in stdout and "evaluate: 18/18 texts (100%)" in stdout

    events = event_accumulator.EventAccumulator(str(classifier_run / "logs" / "evaluate"),
                                                size_guidance={"tensors": 0})
    events.Reload()
    logged = events.Tensors("evaluate/accuracy")[-1]
    assert float(tf.make_ndarray(logged.tensor_proto)) == pytest.approx(metrics["accuracy"], abs=1e-6)
    assert logged.step == 2  # the epochs trained
    assert "evaluate/examples" not in events.Tags()["tensors"]  # counts are not scores

    # predict on the same file gives the predictions evaluate scored
    labelled = tmp_path / "labelled.csv"
    assert main(["predict", str(classifier_run), "--input", str(test_csv), "--output", str(labelled)]) == 0
    pairs = collections.Counter((row["sentiment"], row["predicted_label"]) for row in _read_csv(labelled))
    names = confusion["labels"]
    assert {(names[i], names[j]): n for (i, j), n in np.ndenumerate(matrix) if n} == dict(pairs)


def test_predict_streams_every_format_and_matches_the_saved_model(classifier_run, tmp_path):
    texts = ["i loved it, truly", "awful mess", "", "great " * 40, 'a "quoted" word', "wonderful\nstory"]
    csv_in = tmp_path / "in.csv"
    with open(csv_in, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([("id", "review"), *enumerate(texts)])
    completed = run_cli("predict", classifier_run, "--input", csv_in, "--output", tmp_path / "out" / "p.csv",
                        "--batch-size", "4")
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    assert "predict: 6/6 rows (100%)" in completed.stdout
    rows = _read_csv(tmp_path / "out" / "p.csv")
    assert [row["review"] for row in rows] == texts and [row["id"] for row in rows] == list(map(str, range(6)))
    probabilities = np.array([[float(row["probability_neg"]), float(row["probability_pos"])] for row in rows])

    assert main(["export", str(classifier_run), "--base-dir", str(tmp_path / "export"), "--name", "clf"]) == 0
    serve = tf.saved_model.load(str(tmp_path / "export" / "clf" / "1")).signatures["serving_default"]
    served = serve(texts=tf.constant(texts))
    assert [row["predicted_label"] for row in rows] == [label.decode() for label in served["labels"].numpy()]
    np.testing.assert_allclose(probabilities, served["probabilities"].numpy(), atol=2e-6)

    # JSONL and TSV keep their format, with the same predictions
    jsonl_in, tsv_in = tmp_path / "in.jsonl", tmp_path / "in.tsv"
    jsonl_in.write_text("".join(json.dumps({"review": text, "n": i}) + "\n" for i, text in enumerate(texts)))
    tsv_in.write_text("review\n" + "".join(text.replace("\n", " ") + "\n" for text in texts[:2]))
    assert main(["predict", str(classifier_run), "--input", str(jsonl_in), "--output", str(tmp_path / "p.jsonl")]) == 0
    records = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [r["n"] for r in records] == list(range(6))
    np.testing.assert_allclose([[r["probability_neg"], r["probability_pos"]] for r in records], probabilities,
                               atol=2e-6)
    assert main(["predict", str(classifier_run), "--input", str(tsv_in), "--output", str(tmp_path / "p.tsv")]) == 0
    lines = (tmp_path / "p.tsv").read_text().splitlines()
    assert lines[0] == "review\tpredicted_label\tprobability_neg\tprobability_pos"
    assert [line.split("\t")[1] for line in lines[1:]] == [row["predicted_label"] for row in rows[:2]]


def _bad_input_cases(folder):
    (folder / "no_columns.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folder / "empty.csv").write_text("", encoding="utf-8")
    (folder / "latin1.csv").write_bytes("review,sentiment\ncafé great,pos\n".encode("latin-1"))
    (folder / "ner.tsv").write_text("John\tB-PER\nlives\tO\n", encoding="utf-8")
    (folder / "texts.csv").write_text("review\ngood\n", encoding="utf-8")
    (folder / "a_file").write_text("", encoding="utf-8")
    f = lambda name: str(folder / name)  # noqa: E731
    return [
        (["evaluate", "--test", f("no_columns.csv")], ["no column 'review'; its columns are: a, b"]),
        (["evaluate", "--test", f("empty.csv")], ["empty.csv is empty"]),
        (["evaluate", "--test", f("latin1.csv")], ["latin1.csv is not valid UTF-8 (line 2"]),
        (["evaluate", "--test", f("ner.tsv")], ["no column 'review'; its columns are: John, B-PER"]),
        (["evaluate", "--test", f("texts.csv"), "--output-dir", f("a_file/x")], ["a_file/x", "not a folder"]),
        (["predict", "--input", f("no_columns.csv"), "--output", f("o.csv")], ["its columns are: a, b"]),
        (["predict", "--input", f("empty.csv"), "--output", f("o.csv")], ["empty.csv is empty"]),
        (["predict", "--input", f("latin1.csv"), "--output", f("o.csv")], ["not valid UTF-8 (line 2)"]),
        (["predict", "--input", f("ner.tsv"), "--output", f("o.tsv"), "--format", "conll"], ["not conll"]),
        (["predict", "--input", f("texts.csv"), "--output", f("a_file/o.csv")], ["a_file is a file, not a folder"]),
        (["predict", "--input", f("texts.csv"), "--output", f("texts.csv")], ["is the --input file"]),
    ]


@pytest.mark.parametrize("case", range(11))
def test_bad_input_is_one_line_and_exit_2(classifier_run, tmp_path, capsys, case):
    (command, *argv), fragments = _bad_input_cases(tmp_path)[case]
    assert main([command, str(classifier_run), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("keras-llm: error:"), err
    assert all(fragment in err for fragment in fragments), err
    assert not (tmp_path / "o.csv").exists()


def test_bad_input_through_the_console_script(classifier_run, tmp_path):
    (command, *argv), fragments = _bad_input_cases(tmp_path)[2]
    assert_one_line_error(run_cli(command, classifier_run, *argv), *fragments)


@pytest.mark.slow
@pytest.mark.parametrize("case", range(11))
def test_every_bad_input_through_the_console_script(classifier_run, tmp_path, case):
    (command, *argv), fragments = _bad_input_cases(tmp_path)[case]
    assert_one_line_error(run_cli(command, classifier_run, *argv), *fragments)
