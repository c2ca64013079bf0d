"""`keras-llm train ... --lora-rank R [--lora-alpha A]` (docs/compression.md): adapters train, the rest is frozen,
the run's models and exports hold merged weights only; bad ranks are one line.

Default: the session's LoRA classifier run (tests/conftest.py: lora_classifier_run) and the refusals.
`-m slow`: its export (no LoRA variables, the same probabilities as `classify`), a GPT and a tagger
trained with adapters, and a LoRA run killed after its first backup that resumes to the same weights.
"""

import concurrent.futures
import json
import re

import numpy as np
import pytest

from keras_llm.training.lora import lora_projections
from tests.conftest import TINY_CORPUS, assert_one_line_error, run_cli


def _adapter_parameters(model, rank):
    """What Keras' enable_lora adds per projection: A (*kernel[:-1], r) and B (r, kernel[-1])."""
    return sum(int(np.prod(p.kernel.shape[:-1])) * rank + rank * int(p.kernel.shape[-1])
               for p in lora_projections(model))


def test_lora_run_trains_adapters_and_head_only_and_saves_merged_weights(lora_classifier_run):
    from keras_llm.runs.classifier import load_classifier_run

    run_dir, completed = lora_classifier_run
    model, _, info = load_classifier_run(str(run_dir))
    assert info["training"]["lora_rank"] == 2 and info["training"]["lora_alpha"] is None
    assert not [v.path for v in model.weights if "lora" in v.path]  # merged: a plain model
    line = re.search(r"LoRA rank 2 \(alpha 2\) on (\d+) projections: ([\d.]+)M of ([\d.]+)M parameters trainable",
                     completed.stdout)
    assert line, completed.stdout
    head = sum(int(np.prod(v.shape)) for v in model.get_layer("classifier_logits").weights)
    adapters = _adapter_parameters(model, 2)
    assert int(line.group(1)) == len(lora_projections(model)) == 12  # 2 blocks × (4 attention + 2 feed-forward)
    assert float(line.group(2)) == pytest.approx((adapters + head) / 1e6, abs=0.006)
    assert float(line.group(3)) == pytest.approx((model.count_params() + adapters) / 1e6, abs=0.006)


def test_bad_lora_settings_are_one_line(sentiment_csv, tmp_path):
    table = ("--train", sentiment_csv, "--text-column", "review", "--label-column", "sentiment")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TINY_CORPUS[:2000], encoding="utf-8")
    cases = {
        "zero": (("train", "bert-classifier", *table, "--lora-rank", "0", "--run-dir", tmp_path / "a"),
                 ("--lora-rank", "positive integer")),
        "wider than the heads": (("train", "bert-classifier", *table, "--lora-rank", "65", "--run-dir", tmp_path / "b"),
                                 ("lora_rank 65 is larger than the width 64",)),
        "an LSTM": (("train", "lstm-lm", "--corpus", corpus, "--lora-rank", "2", "--run-dir", tmp_path / "c"),
                    ("no Transformer attention",)),
        "alpha alone": (("train", "bert-classifier", *table, "--lora-alpha", "4", "--run-dir", tmp_path / "d"),
                        ("lora_alpha", "lora_rank")),
    }
    with concurrent.futures.ThreadPoolExecutor(len(cases)) as pool:
        results = {name: pool.submit(run_cli, *argv) for name, (argv, _) in cases.items()}
    for name, (_, fragments) in cases.items():
        assert_one_line_error(results[name].result(), *fragments)


@pytest.mark.slow
def test_lora_export_has_no_lora_variables_and_serves_what_classify_prints(lora_classifier_run, tmp_path):
    import tensorflow as tf

    from keras_llm.export.op_check import check_saved_model_ops

    run_dir, _ = lora_classifier_run
    exported = run_cli("export", run_dir, "--base-dir", tmp_path / "sm")
    assert exported.returncode == 0, exported.stderr
    path = tmp_path / "sm" / "bert-classifier" / "1"
    names = [name for name, _ in tf.train.list_variables(str(path / "variables" / "variables"))]
    assert any("kernel" in name for name in names) and not [n for n in names if "lora" in n.lower()], names
    assert check_saved_model_ops(str(path)).ok
    texts = ["i loved it", "awful mess", "great fun"]
    served = tf.saved_model.load(str(path)).signatures["serving_default"](texts=tf.constant(texts))
    printed = run_cli("classify", run_dir, *[a for text in texts for a in ("--text", text)])
    for row, label, probabilities in zip(printed.stdout.splitlines(), served["labels"].numpy(),
                                         served["probabilities"].numpy()):
        name, probability, _ = row.split("\t")
        assert name == label.decode() and float(probability) == pytest.approx(probabilities.max(), abs=1e-3)


@pytest.mark.slow
def test_gpt_and_tagger_train_with_adapters(tiny_corpus, tmp_path):
    gpt = run_cli("train", "gpt-shakespeare-char", "--corpus", tiny_corpus, "--steps", "4", "--eval-interval", "2",
                  "--eval-batches", "1", "--num-layers", "1", "--hidden-dim", "32", "--max-length", "16",
                  "--lora-rank", "4", "--lora-alpha", "8", "--run-dir", tmp_path / "gpt")
    assert gpt.returncode == 0, gpt.stderr[-2000:]
    assert re.search(r"LoRA rank 4 \(alpha 8\) on 6 projections", gpt.stdout), gpt.stdout
    generated = run_cli("generate", tmp_path / "gpt", "--prompt", "Fi", "--max-new-tokens", "4")
    assert generated.returncode == 0, generated.stderr
    conll = tmp_path / "train.conll"
    conll.write_text("\n\n".join("the\tDET\ncat\tNOUN\nsat\tVERB" for _ in range(12)) + "\n", encoding="utf-8")
    tagger = run_cli("train", "tagger", "--train", conll, "--epochs", "1", "--max-length", "16", "--lora-rank", "2",
                     "--no-jit", "--run-dir", tmp_path / "tagger")
    assert tagger.returncode == 0, tagger.stderr[-2000:]
    assert "LoRA rank 2 (alpha 2) on 12 projections" in tagger.stdout
    info = json.loads((tmp_path / "tagger" / "run.json").read_text())
    assert info["training"]["lora_rank"] == 2


@pytest.mark.slow
def test_a_killed_lora_run_resumes_to_the_uninterrupted_weights(sentiment_csv, tmp_path):
    from keras_llm.runs.classifier import load_classifier_run

    argv = ("train", "bert-classifier", "--train", sentiment_csv, "--text-column", "review", "--label-column",
            "sentiment", "--epochs", "2", "--max-length", "16", "--lora-rank", "2", "--no-jit", "--seed", "3")
    deterministic = {"TF_DETERMINISTIC_OPS": "1"}
    straight = run_cli(*argv, "--run-dir", tmp_path / "straight", env=deterministic)
    assert straight.returncode == 0, straight.stderr[-2000:]
    killed = run_cli(*argv, "--run-dir", tmp_path / "killed",
                     env={**deterministic, "KERAS_LLM_FAILPOINT": "after-backup@0"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    resumed = run_cli("train", "bert-classifier", "--resume", tmp_path / "killed", env=deterministic)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # The adapters (not kept by save_weights) come back from the backup: without them the resumed run
    # would restart its adapters at zero and end elsewhere.
    straight_model, _, _ = load_classifier_run(str(tmp_path / "straight"), "final")
    resumed_model, _, _ = load_classifier_run(str(tmp_path / "killed"), "final")
    for ours, theirs in zip(resumed_model.weights, straight_model.weights, strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6, err_msg=ours.path)
