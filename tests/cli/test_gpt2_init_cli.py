"""`keras-llm train <GPT recipe> --init-from HF_DIR|RUN_DIR`, then `generate` and `export`, through the console script.

The Hugging Face directory is the test fixture (tests/fixtures/gpt2: GPT-2's vocabulary, random weights),
whose greedy continuations transformers' ``generate`` wrote down. A fine-tuning run with a learning
rate of 1e-9 keeps those weights, so its `generate --decoding greedy` and its exported SavedModel (loaded
in a fresh process with TensorFlow only, as TF Serving would) must give transformers' text.

Default run: bad input only (one line, exit 2). `-m slow`: the runs (~2 minutes of CPU).
"""

import json
import subprocess
import sys

import pytest

from keras_llm.export.op_check import check_saved_model_ops
from tests.checkpoints.gpt2_fixture import FIXTURE, make_gpt2_directory
from tests.conftest import TINY_CORPUS, assert_one_line_error
from tests.conftest import run_cli as _run_cli

RECIPE = "gpt-shakespeare-char"
# A run loads a 50,257-token model: on a shared, loaded machine one command has taken over 10 minutes.
TIMEOUT = 1800
TINY_RUN = ("--steps", "2", "--eval-interval", "2", "--eval-batches", "1", "--max-length", "16", "--batch-size", "2")


def run_cli(*argv):
    return _run_cli(*argv, timeout=TIMEOUT)


def _greedy():
    return json.loads((FIXTURE / "reference.json").read_text(encoding="utf-8"))["greedy"]


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    return make_gpt2_directory(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text(TINY_CORPUS, encoding="utf-8")
    return path


def _broken_copy(gpt2_dir, tmp_path, damage):
    import shutil

    target = tmp_path / "broken"
    shutil.copytree(gpt2_dir, target)
    damage(target)
    return target


@pytest.mark.parametrize("damage, fragment", [
    (lambda d: (d / "merges.txt").unlink(), "no merges.txt in"),
    (lambda d: (d / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 64})),
     "holds a 'bert' model, not GPT-2"),
])
def test_a_broken_gpt2_directory_is_one_line(gpt2_dir, corpus, tmp_path, damage, fragment):
    broken = _broken_copy(gpt2_dir, tmp_path, damage)
    done = run_cli("train", RECIPE, "--init-from", broken, "--corpus", corpus, "--run-dir", tmp_path / "run",
                   *TINY_RUN)
    assert_one_line_error(done, fragment)
    assert not (tmp_path / "run" / "run.json").exists()


def test_init_from_refuses_flags_that_would_reshape_the_model(gpt2_dir, corpus, tmp_path):
    done = run_cli("train", RECIPE, "--init-from", gpt2_dir, "--corpus", corpus, "--run-dir", tmp_path / "run",
                   "--num-layers", "3", "--tokenizer", "bpe")
    assert_one_line_error(done, "--num-layers, --tokenizer and --init-from conflict")


# ------------------------------------------------------------------------------------------ the runs (slow)

@pytest.fixture(scope="module")
def finetuned(gpt2_dir, corpus, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "gpt2-tiny"
    done = run_cli("train", RECIPE, "--init-from", gpt2_dir, "--corpus", corpus, "--run-dir", run_dir, *TINY_RUN,
                   "--learning-rate", "1e-9")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "3.32M parameters, vocabulary 50257" in done.stdout
    return run_dir


@pytest.mark.slow
def test_the_run_records_where_it_started(finetuned, gpt2_dir):
    info = json.loads((finetuned / "run.json").read_text(encoding="utf-8"))
    assert info["init_from"] == str(gpt2_dir)
    assert info["sequence_length"] == 16 and info["model_config"]["max_length"] == 128
    assert info["model_config"]["activation"] == "gelu_tanh"
    assert info["tokenizer"] == {"kind": "pretrained", "class": "GPT2Tokenizer"}


@pytest.mark.slow
def test_generate_continues_as_transformers_does(finetuned):
    for case in _greedy():
        done = run_cli("generate", finetuned, "--prompt", case["prompt"], "--decoding", "greedy",
                       "--max-new-tokens", str(len(case["new_ids"])))
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout == case["prompt"] + case["completion"] + "\n"


FRESH_PROCESS = """
import json, sys
import tensorflow as tf
served = tf.saved_model.load(sys.argv[1]).signatures["generate"]
out = served(prompts=tf.constant(json.loads(sys.argv[2])), max_new_tokens=tf.constant(int(sys.argv[3])),
             temperature=tf.constant(0.0), top_k=tf.constant(0), seed=tf.constant(0))["completions"]
print(json.dumps([text.decode("utf-8", "replace") for text in out.numpy()]))
"""


@pytest.mark.slow
def test_the_export_serves_the_same_text_in_a_fresh_process(finetuned, tmp_path):
    done = run_cli("export", finetuned, "--base-dir", tmp_path / "models", "--name", "gpt2-tiny")
    assert done.returncode == 0, done.stderr[-2000:]
    path = tmp_path / "models" / "gpt2-tiny" / "1"
    report = check_saved_model_ops(str(path))
    assert report.ok and not report.needs_tf_text, report.problems
    cases = _greedy()
    prompts = [case["prompt"] for case in cases]
    served = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(path), json.dumps(prompts),
                             str(len(cases[0]["new_ids"]))], capture_output=True, text=True, timeout=TIMEOUT)
    assert served.returncode == 0, served.stderr[-2000:]
    completions = json.loads(served.stdout.strip().split("\n")[-1])
    assert completions == [case["completion"] for case in cases]


@pytest.mark.slow
def test_a_gpt_run_can_start_from_another(finetuned, corpus, tmp_path):
    done = run_cli("train", RECIPE, "--init-from", finetuned, "--corpus", corpus, "--run-dir", tmp_path / "again",
                   *TINY_RUN)
    assert done.returncode == 0, done.stderr[-3000:]
    info = json.loads((tmp_path / "again" / "run.json").read_text(encoding="utf-8"))
    assert info["init_from"] == str(finetuned) and info["model_config"]["vocab_size"] == 50257
    refused = run_cli("train", "lstm-lm", "--init-from", finetuned, "--corpus", corpus, "--run-dir", tmp_path / "rnn")
    assert_one_line_error(refused, "applies to GPT recipes")
