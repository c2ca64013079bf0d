"""XLA-compiled export signatures: the portable signature's greedy tokens, in a fresh TensorFlow process.

Runs made and exported with the console script (`keras-llm train`, `keras-llm export --xla`); the
SavedModels are loaded by a process that imports only tensorflow (+ tensorflow_text for the
translator's WordPiece ops).
"""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import assert_one_line_error, run_cli

CONTEXT = 64  # prompt buckets 16, 32, 64: short prompts take the fitting loop, long ones the sliding one
PROMPTS = ["First Citizen:\n", "", "Speak", "x" * 100, "You are all resolved rather to die than to famish?"]

FRESH_GPT = r"""
import json, sys
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])

def uses_xla(name):
    graph = loaded.signatures[name].graph.as_graph_def()
    nodes = list(graph.node) + [node for function in graph.library.function for node in function.node_def]
    return any(node.attr["_XlaMustCompile"].b for node in nodes)

def run(name, prompts, n, temperature=0.0, seed=0):
    out = loaded.signatures[name](prompts=tf.constant(prompts, tf.string), max_new_tokens=tf.constant(n),
                                  temperature=tf.constant(temperature), top_k=tf.constant(0), seed=tf.constant(seed))
    return [t.decode("utf-8", "replace") for t in out["completions"].numpy()]

prompts = json.loads(sys.argv[2])
result = {"signatures": sorted(loaded.signatures.keys()),
          "xla": {name: uses_xla(name) for name in sorted(loaded.signatures.keys())}}
for name in ("generate", "generate_xla"):
    # Few shapes on purpose (each is one XLA compilation): (3 prompts, bucket 16), (5, bucket 64), (0, 16).
    result[name] = {"short": run(name, prompts[:3], 10), "long": run(name, prompts, 40),
                    "empty": run(name, [], 5), "zero": run(name, prompts[:3], 0),
                    "sampled": run(name, prompts[:3], 12, 0.8, 3) + run(name, prompts[:3], 12, 0.8, 3)}
result["default"] = [t.decode() for t in loaded.signatures["serving_default"](
    prompts=tf.constant(["Speak"]))["completions"].numpy()]
result["complete_xla"] = [t.decode() for t in loaded.signatures["complete_xla"](
    prompts=tf.constant(["Speak"]))["completions"].numpy()]
result["imports"] = sorted({m.split(".")[0] for m in sys.modules if m.startswith(("keras_llm", "keras_hub"))})
print(json.dumps(result))
"""


def _fresh(script, *argv):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    completed = subprocess.run([sys.executable, "-c", script, *map(str, argv)], capture_output=True, text=True,
                               env=env, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def gpt_export(tiny_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("xla_gpt")
    trained = run_cli("train", "gpt-shakespeare-char", "--corpus", tiny_corpus, "--run-dir", root / "run",
                      "--steps", "80", "--eval-interval", "80", "--eval-batches", "1", "--max-length", str(CONTEXT),
                      "--num-layers", "1", "--hidden-dim", "32", "--learning-rate", "3e-3", "--no-jit")
    assert trained.returncode == 0, trained.stderr[-2000:]
    exported = run_cli("export", root / "run", "--xla", "--base-dir", root / "saved", "--name", "tiny")
    assert exported.returncode == 0, exported.stderr[-2000:]
    return root / "run", root / "saved" / "tiny" / "1"


@pytest.mark.slow  # ~60 s (a CLI run and export); test_generator_export.py checks generate_xla by default
def test_xla_signatures_give_the_portable_greedy_tokens_in_a_fresh_process(gpt_export):
    _, path = gpt_export
    result = _fresh(FRESH_GPT, path, json.dumps(PROMPTS))
    assert result["imports"] == []
    assert {"serving_default", "complete", "complete_xla", "generate", "generate_xla"} <= set(result["signatures"])
    # --xla made the compiled loop the default; the portable signatures stay free of XLA.
    assert result["xla"] == {"serving_default": True, "complete_xla": True, "generate_xla": True,
                             "complete": False, "generate": False}
    portable, xla = result["generate"], result["generate_xla"]
    assert xla["short"] == portable["short"] and xla["long"] == portable["long"]
    assert [len(t) for t in xla["long"]] == [40] * len(PROMPTS)  # prompts of 64 + 40 tokens: the window slides
    assert len(set(xla["long"])) > 1  # different prompts, different tokens: the comparison can fail
    assert xla["empty"] == portable["empty"] == [] and xla["zero"] == portable["zero"] == [""] * 3
    # Sampling is reproducible within each kind (XLA draws its random numbers differently).
    for sampled in (portable["sampled"], xla["sampled"]):
        assert sampled[:3] == sampled[3:] and all(len(t) == 12 for t in sampled)
    assert result["default"] == result["complete_xla"] and len(result["default"][0]) > 0


@pytest.mark.slow  # test_generator_export.py checks the portable signature against generate() by default
def test_portable_signature_keeps_the_in_process_tokens_when_the_window_slides(gpt_export):
    from keras_llm.generation import DecodingOptions, generate
    from keras_llm.runs import load_gpt_run

    run_dir, path = gpt_export
    portable = _fresh(FRESH_GPT, path, json.dumps(PROMPTS))["generate"]
    model, tokenizer, _ = load_gpt_run(str(run_dir))
    assert portable["long"] == generate(model, tokenizer, PROMPTS, DecodingOptions(max_new_tokens=40))


def test_xla_flag_is_refused_for_exports_without_xla_signatures(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"model": "bert-classifier", "recipe": "bert-classifier"}))
    assert_one_line_error(run_cli("export", run_dir, "--xla", "--base-dir", tmp_path / "saved"),
                          "--xla", "bert-classifier")
    assert not (tmp_path / "saved").exists()
