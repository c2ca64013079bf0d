"""A tiny extractive-QA run through `keras-llm train/answer/evaluate/predict/export`: it learns, its answers'
character offsets slice the context, every entry point gives the same answers, bad input is one line."""

import json
import os
import random
import subprocess
import sys

import pytest

from keras_llm.cli import main
from keras_llm.export.op_check import check_saved_model_ops, format_report
from keras_llm.runs.span_qa import answer_questions
from tests.conftest import run_cli

TINY = ["--num-layers", "1", "--hidden-dim", "32", "--batch-size", "8", "--max-length", "48", "--no-jit",
        "--learning-rate", "5e-3"]
NAMES = ["John", "Mary", "Anna", "Peter", "Lucy", "Omar", "Ines"]
CITIES = ["Paris", "London", "Berlin", "Madrid", "Rome", "Vienna", "Oslo", "Lisbon"]
FILLER = ["It rains today.", "The shop is closed.", "Trains are late again.", "Nobody knows why."]


def squad_document(count, seed):
    """SQuAD v1.1 JSON whose answers a one-layer reader can learn: the city someone lives in."""
    rng, articles = random.Random(seed), []
    for index in range(count):
        name, city = rng.choice(NAMES), rng.choice(CITIES)
        before = " ".join(rng.sample(FILLER, rng.randint(0, 2)))
        context = f"{before} {name} lives in {city}, near the river. {rng.choice(FILLER)}".strip()
        qa = {"id": f"{seed}-{index}", "question": f"Where does {name} live?",
              "answers": [{"text": city, "answer_start": context.index(f" in {city}") + 4}]}
        articles.append({"title": f"article {index % 5}", "paragraphs": [{"context": context, "qas": [qa]}]})
    return {"version": "1.1", "data": articles}


@pytest.fixture(scope="module")
def qa_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qa")
    for name, count, seed in (("train", 80, 0), ("valid", 16, 1)):
        (folder / f"{name}.json").write_text(json.dumps(squad_document(count, seed)), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def qa_run(qa_files):
    run_dir = qa_files / "run"
    code = main(["train", "qa", "--train", str(qa_files / "train.json"), "--valid", str(qa_files / "valid.json"),
                 "--run-dir", str(run_dir), "--epochs", "4", *TINY])
    assert code == 0
    return run_dir


def test_training_learns_and_records_the_run(qa_run):
    info = json.loads((qa_run / "run.json").read_text())
    assert info["model"] == "extractive-qa" and info["status"] == "finished"
    assert info["examples"] == {"train": 80, "valid": 16, "train_windows": 80}
    assert info["answers"] == {"max_length": 48, "stride": 128, "max_question_length": 22, "max_answer_length": 30}
    assert info["trained"]["steps"] == 40
    metrics = json.loads((qa_run / "valid_metrics.json").read_text())
    assert metrics["exact_match"] >= 80 and metrics["questions"] == 16, metrics
    for name in ("best.keras", "final.keras", "tokenizer", "logs", "history.csv"):
        assert (qa_run / name).exists(), name


def test_answer_command_prints_spans_that_slice_the_context(qa_run):
    context = "Trains are late again. Ines lives in Lisbon, near the river."
    completed = run_cli("answer", qa_run, "--question", "Where does Ines live?", "--context", context,
                        "--question", "Where does Ines live?", "--context", "",
                        "--question", "Where does the man who sold the world live?", "--context", "Bob.",
                        "--question", "Who invented the telephone?", "--context", context)
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    rows = [line.split("\t") for line in completed.stdout.splitlines()]
    assert len(rows) == 4 and all(len(row) == 4 for row in rows)
    answer, score, start, end = rows[0]
    assert answer == "Lisbon" == context[int(start):int(end)] and 0.5 < float(score) <= 1
    assert rows[1] == ["", "0.0000", "0", "0"]  # an empty context has no span
    # a context shorter than the question, and a question the context does not answer: the best span, a score
    assert rows[2][0] == "Bob."[int(rows[2][2]):int(rows[2][3])] != "" and 0 <= float(rows[2][1]) <= 1
    assert rows[3][0] == context[int(rows[3][2]):int(rows[3][3])] != ""


def test_evaluate_scores_exact_match_and_f1_of_its_predictions(qa_run, qa_files, capsys):
    output = qa_files / "evaluation"
    assert main(["evaluate", str(qa_run), "--test", str(qa_files / "valid.json"), "--output-dir", str(output)]) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    predictions = json.loads((output / "predictions.json").read_text())
    document = json.loads((qa_files / "valid.json").read_text())
    gold = {qa["id"]: qa["answers"][0]["text"] for a in document["data"] for p in a["paragraphs"] for qa in p["qas"]}
    assert set(predictions) == set(gold)
    exact = sum(predictions[key] == text for key, text in gold.items()) / len(gold)  # single-word answers
    assert metrics["exact_match"] == pytest.approx(100 * exact) and metrics["f1"] >= metrics["exact_match"]
    assert "exact match" in capsys.readouterr().out


def test_bad_input_is_one_line(qa_run, qa_files, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    document = squad_document(3, 2)
    document["data"][1]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 0
    bad.write_text(json.dumps(document), encoding="utf-8")
    for argv, fragment in (
            (["train", "qa", "--train", str(bad), "--run-dir", str(tmp_path / "run")], "is not at character 0"),
            (["answer", str(qa_run), "--question", "Where?", "--question", "Who?", "--context", "x"],
             "2 --question but 1 --context"),
            (["answer", str(qa_run), "--question", "  ", "--context", "x"], "--question number 1 is empty"),
            (["train", "qa", "--train", str(qa_files / "train.json"), "--max-length", "4", "--run-dir",
              str(tmp_path / "short")], "max_length must be at least 5"),
            (["train", "minilm-squad", "--train", str(qa_files / "train.json"), "--hidden-dim", "8", "--run-dir",
              str(tmp_path / "shape")], "keeps its own shape")):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("keras-llm: error:") and err.count("\n") == 1, (argv, err)
        assert fragment in err, (fragment, err)


FRESH = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  registers the tf-text ops the graph uses
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
pairs = json.loads(sys.argv[2])
out = serve(question=tf.constant([q for q, _ in pairs]), context=tf.constant([c for _, c in pairs]))
empty = serve(question=tf.constant([], tf.string), context=tf.constant([], tf.string))
print(json.dumps({"answer": [a.decode("utf-8") for a in out["answer"].numpy()],
                  "score": out["score"].numpy().tolist(), "start": out["start"].numpy().tolist(),
                  "end": out["end"].numpy().tolist(), "empty": len(empty["answer"].numpy()),
                  "keras_llm": any(m.startswith("keras_llm") for m in sys.modules)}))
"""


@pytest.mark.slow  # export (about 10 s) and a fresh TensorFlow process
def test_export_answers_like_the_library_in_a_fresh_process(qa_run, tmp_path):
    completed = run_cli("export", qa_run, "--base-dir", tmp_path, "--name", "reader")
    assert completed.returncode == 0, completed.stderr
    assert os.listdir(tmp_path / "reader") == ["1"]
    long = "Nobody knows why. " * 30 + "Omar lives in Oslo, near the river."  # several windows
    pairs = [["Where does Omar live?", long], ["Where does Anna live?", "Anna lives in Rome, near the river."],
             ["Who?", ""], ["What is the capital of a country that does not exist at all?", "Bob."],
             ["Wo?", "Zürich — Anna lives in Köln."]]
    expected = answer_questions(str(qa_run), [q for q, _ in pairs], [c for _, c in pairs])
    result = subprocess.run([sys.executable, "-c", FRESH, str(tmp_path / "reader" / "1"), json.dumps(pairs)],
                            capture_output=True, text=True, timeout=300, check=True)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert not out["keras_llm"] and out["empty"] == 0
    assert list(zip(out["answer"], out["start"], out["end"])) == [(a, s, e) for a, _, s, e in expected]
    assert out["score"] == pytest.approx([score for _, score, _, _ in expected], abs=1e-5)
    assert out["answer"][0] == "Oslo" and out["answer"][2] == ""
    report = check_saved_model_ops(str(tmp_path / "reader" / "1"))
    assert report.ok, format_report(report)  # only core TF and tensorflow-text ops: TF Serving loads it


@pytest.mark.slow  # a second console-script start and a file round trip
def test_predict_writes_squad_predictions_and_jsonl_rows(qa_run, qa_files, tmp_path):
    completed = run_cli("predict", qa_run, "--input", qa_files / "valid.json", "--output", tmp_path / "pred.json")
    assert completed.returncode == 0, completed.stderr
    predictions = json.loads((tmp_path / "pred.json").read_text())
    assert len(predictions) == 16 and all(isinstance(v, str) for v in predictions.values())
    rows = [{"question": "Where does Mary live?", "context": "Mary lives in Berlin, near the river.", "id": 7}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["predict", str(qa_run), "--input", str(tmp_path / "in.jsonl"), "--output",
                 str(tmp_path / "out.jsonl")]) == 0
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out[0]["id"] == 7 and out[0]["context"][out[0]["start"]:out[0]["end"]] == out[0]["answer"]


# `keras-llm ask INDEX RUN`: retrieve with a search index, read with the QA run above.
PASSAGES = {"p-ines": "Trains are late again. Ines lives in Lisbon, near the river.",
            "p-omar": "Omar lives in Oslo, near the river. The shop is closed.",
            "p-rain": "It rains today. Nobody knows why.",
            "p-lucy": "Lucy lives in Rome, near the river."}


@pytest.fixture(scope="module")
def passage_index(tmp_path_factory):
    """The passages above in an exact index, embedded by all-MiniLM-L6-v2 cut to one layer (fast to load)."""
    from keras_llm.search import EncoderSettings, build_index
    from tests.search.collection import write_one_layer_minilm

    folder = tmp_path_factory.mktemp("ask")
    model = write_one_layer_minilm(folder / "minilm-1-layer")
    index_dir = folder / "passages"
    build_index(str(index_dir), EncoderSettings(str(model), max_length=64), list(PASSAGES), list(PASSAGES.values()),
                ann="exact")
    return index_dir


def test_ask_reads_the_retrieved_passages_and_keeps_the_surest_span(qa_run, passage_index):
    from keras_llm.search import search_index

    questions = ["Where does Ines live?", "Where does Lucy live?"]
    completed = run_cli("ask", passage_index, qa_run, "--question", questions[0], "--question", questions[1],
                        "--top-k", "3", "--json")
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    assert [item["question"] for item in found] == questions
    for item, hits in zip(found, search_index(str(passage_index), questions, top_k=3)):
        # The winner is one of the index's top 3 for the question, at its rank, and its span slices it.
        assert [hit.id for hit in hits][item["source_rank"] - 1] == item["source_id"]
        assert item["passage"] == PASSAGES[item["source_id"]]
        assert item["passage"][item["start"]:item["end"]] == item["answer"]
        # ... and the reader is surest of it among the three (the reader run on each passage alone).
        spans = answer_questions(qa_run, [item["question"]] * 3, [hit.text for hit in hits])
        assert item["score"] == pytest.approx(max(score for _, score, _, _ in spans), abs=1e-5)


def test_ask_bad_input_is_one_line(qa_run, passage_index, tmp_path, capsys):
    for argv, fragment in (
            (["ask", str(passage_index), str(qa_run), "--question", "   "], "empty or only whitespace"),
            (["ask", str(passage_index), str(qa_run), "--question", "Who?", "--top-k", "9"], "larger than the index"),
            (["ask", str(tmp_path), str(qa_run), "--question", "Who?"], "is not an index directory"),
            (["ask", str(passage_index), str(tmp_path), "--question", "Who?"], str(tmp_path))):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("keras-llm: error:") and err.count("\n") == 1, (argv, err)
        assert fragment in err, (fragment, err)


def test_lora_reader_trains_adapters_and_the_span_head_and_saves_merged_weights(qa_files, tmp_path, capsys):
    import keras

    from keras_llm.training.lora import lora_projections

    run_dir = tmp_path / "lora"
    code = main(["train", "qa", "--train", str(qa_files / "train.json"), "--valid", str(qa_files / "valid.json"),
                 "--run-dir", str(run_dir), "--epochs", "1", "--lora-rank", "2", *TINY])
    out = capsys.readouterr().out
    assert code == 0, out[-2000:]
    assert "LoRA rank 2 (alpha 2) on 6 projections" in out, out  # 1 block × (4 attention + 2 feed-forward)
    assert json.loads((run_dir / "run.json").read_text())["training"]["lora_rank"] == 2
    model = keras.saving.load_model(run_dir / "best.keras", compile=False)
    assert len(lora_projections(model)) == 6
    assert not [v.path for v in model.weights if "lora" in v.path]  # merged at save: a plain model
