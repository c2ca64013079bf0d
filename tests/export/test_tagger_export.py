"""Tagger SavedModel: TF Serving layout, same tags as in-process in a fresh process, edge inputs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_llm.cli import main
from keras_llm.cli.tagger import tag_texts
from keras_llm.export.op_check import check_saved_model_ops, format_report
from keras_llm.runs.tagger import load_tagger_run, train_tagger_run

TEXTS = ["Mary lives in Berlin.", "Dr Anna lives in Paris", "Unknownword, ünïcode & (brackets)!",
         "Anna\x00lives in\x00Paris"]  # NUL separates words (the words after it were dropped)

FRESH = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  registers the tf-text ops the graph uses
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
def run(texts):
    out = serve(texts=tf.constant(texts, tf.string))
    return {key: value.numpy().tolist() for key, value in out.items()}
decode = lambda rows: [[value.decode("utf-8") for value in row] for row in rows]
main = run(json.loads(sys.argv[2]))
edge = run(["", "  \t\n ", "word " * 20000, b"caf\xe9 in Paris".decode("latin-1").encode("latin-1")])
print(json.dumps({"tokens": decode(main["tokens"]), "tags": decode(main["tags"]), "scores": main["scores"],
                  "lengths": main["lengths"], "edge_tokens": decode(edge["tokens"]), "edge_lengths": edge["lengths"],
                  "edge_tags": decode(edge["tags"]), "empty": run([]), "big": len(run(["Mary"] * 256)["tags"]),
                  "keras_llm": any(m.startswith("keras_llm") for m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def bilstm_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tagger")
    sentences = ["Mary\tPROPN\nlives\tVERB\nin\tADP\nBerlin\tPROPN\n.\tPUNCT", "Dr\tPROPN\nAnna\tPROPN\nsleeps\tVERB"]
    (folder / "train.tsv").write_text("\n\n".join(sentences * 8) + "\n", encoding="utf-8")
    run_dir, _ = train_tagger_run(
        "tagger", run_dir=str(folder / "run"), train_file=str(folder / "train.tsv"),
        training_overrides=dict(epochs=1, batch_size=8, max_length=24, jit_compile=False),
        model_overrides=dict(backbone="bilstm", units=8, embedding_dim=8, num_layers=1), verbose=0,
        log=lambda message: None)
    return run_dir


# Default-suite budget (2026-11-30): the classifier, GPT and embedder exports are checked in fresh processes by
# default
@pytest.mark.slow
def test_export_matches_in_process_tags_in_a_fresh_process(bilstm_run, tmp_path):
    assert json.load(open(os.path.join(bilstm_run, "run.json")))["model_config"]["backbone"] == "bilstm"
    assert main(["export", bilstm_run, "--base-dir", str(tmp_path), "--name", "tagger"]) == 0
    assert os.listdir(tmp_path / "tagger") == ["1"]  # TF Serving layout, nothing half-written left
    model, tokenizer, info = load_tagger_run(bilstm_run)
    expected = tag_texts(model, tokenizer, info, TEXTS)
    result = subprocess.run([sys.executable, "-c", FRESH, str(tmp_path / "tagger" / "1"), json.dumps(TEXTS)],
                            capture_output=True, text=True, timeout=300, check=True)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert not out["keras_llm"]
    for row, (words, tags, scores) in enumerate(expected):
        kept = [index for index, tag in enumerate(tags) if tag]  # words past max_length are not tagged
        words, tags, scores = ([values[i] for i in kept] for values in (words, tags, scores))
        n = out["lengths"][row]
        assert n == len(words) and out["tokens"][row][:n] == words and out["tags"][row][:n] == tags
        np.testing.assert_allclose(out["scores"][row][:n], scores, atol=1e-5)
        assert set(out["tags"][row][n:]) <= {""} and set(out["tokens"][row][n:]) <= {""}
    assert out["tokens"][2][:4] == ["Unknownword", ",", "ünïcode", "&"]
    assert out["lengths"][3] == 4 and out["tokens"][3][:4] == expected[3][0] == ["Anna", "lives", "in", "Paris"]
    # "", whitespace only, 100,000 characters (truncated to at most max_length - 2 = 22 words), invalid UTF-8
    assert out["edge_lengths"][:2] == [0, 0] and 0 < out["edge_lengths"][2] <= 22 and out["edge_lengths"][3] == 3
    assert out["edge_tokens"][3][:4] == ["caf\ufffd", "in", "Paris", ""]
    assert all(tag in info["tags"] for tag in out["edge_tags"][2])
    assert out["empty"]["tags"] == [] and out["empty"]["lengths"] == [] and out["big"] == 256
    report = check_saved_model_ops(str(tmp_path / "tagger" / "1"))
    assert report.ok, format_report(report)  # only core TF and tensorflow-text ops: TF Serving loads it
