"""`keras-llm quantize RUN_DIR [--mode int8] [--output DIR]` (docs/compression.md): a new run whose models are
int8, that every run command reads; quantizing it again is one line.

Default: the session's LoRA classifier run (tests/conftest.py) quantized once for the module.
`-m slow`: the int8 run's export (int8 variables, TF Serving's op check, the in-process model's outputs).
"""

import json
import re

import numpy as np
import pytest

from tests.conftest import NEGATIVE, POSITIVE, assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def quantized_run(lora_classifier_run, tmp_path_factory):
    run_dir, _ = lora_classifier_run
    output = tmp_path_factory.mktemp("int8") / "run"
    completed = run_cli("quantize", run_dir, "--output", output)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return run_dir, output, completed


def test_quantized_run_is_int8_and_classifies_like_the_float_one(quantized_run):
    from keras_llm.data.pooled_prediction import classify_texts
    from keras_llm.models.quantization import quantization_mode
    from keras_llm.runs.classifier import load_classifier_run
    from keras_llm.runs.quantize import weight_bytes

    source, output, completed = quantized_run
    info = json.loads((output / "run.json").read_text())
    assert info["quantization"] == {"mode": "int8", "from": str(source)}
    float_model, tokenizer, _ = load_classifier_run(str(source))
    int8_model, int8_tokenizer, _ = load_classifier_run(str(output))
    sizes = re.search(r"weights ([\d.]+) MB → ([\d.]+) MB", completed.stdout)
    assert sizes, completed.stdout
    assert float(sizes.group(1)) == pytest.approx(weight_bytes(float_model) / 1e6, abs=0.06)
    assert float(sizes.group(2)) == pytest.approx(weight_bytes(int8_model) / 1e6, abs=0.06)
    assert weight_bytes(int8_model) < 0.5 * weight_bytes(float_model)
    assert quantization_mode(int8_model) == "int8" and quantization_mode(float_model) is None
    kernels = [v for v in int8_model.weights if v.path.endswith("/kernel") and "embedding" not in v.path]
    assert kernels and all(v.dtype == "int8" for v in kernels)
    texts = POSITIVE + NEGATIVE
    expected, _ = classify_texts(float_model, tokenizer, texts, 16, "truncate")
    got, _ = classify_texts(int8_model, int8_tokenizer, texts, 16, "truncate")
    assert 0 < np.abs(got - expected).max() < 0.05


def test_quantizing_a_quantized_run_is_one_line(quantized_run, tmp_path):
    _, output, _ = quantized_run
    assert_one_line_error(run_cli("quantize", output, "--output", tmp_path / "again"), "already quantized")


@pytest.mark.slow
def test_int8_export_passes_the_op_check_and_serves_the_int8_model(quantized_run, tmp_path):
    import tensorflow as tf

    from keras_llm.data.pooled_prediction import classify_texts
    from keras_llm.export.op_check import check_saved_model_ops
    from keras_llm.runs.classifier import load_classifier_run

    _, output, _ = quantized_run
    exported = run_cli("export", output, "--base-dir", tmp_path / "sm", "--name", "int8")
    assert exported.returncode == 0, exported.stderr[-2000:]
    path = str(tmp_path / "sm" / "int8" / "1")
    report = check_saved_model_ops(path)
    assert report.ok, report
    dtypes = tf.train.load_checkpoint(f"{path}/variables/variables").get_variable_to_dtype_map()
    assert tf.int8 in set(dtypes.values()), dtypes
    loaded = tf.saved_model.load(path)
    texts = POSITIVE[:3] + NEGATIVE[:3]
    served = loaded.signatures["serving_default"](texts=tf.constant(texts))["probabilities"].numpy()
    model, tokenizer, _ = load_classifier_run(str(output))
    expected, _ = classify_texts(model, tokenizer, texts, 16, "truncate")
    np.testing.assert_allclose(served, expected, atol=1e-5)


GPT_FRESH_PROCESS = r"""
import json, sys
import tensorflow as tf
generate = tf.saved_model.load(sys.argv[1]).signatures["generate"]
out = generate(prompts=tf.constant(json.loads(sys.argv[2])), max_new_tokens=tf.constant(12),
               temperature=tf.constant(0.0), top_k=tf.constant(0), seed=tf.constant(0))
print(json.dumps([t.decode("utf-8", "replace") for t in out["completions"].numpy()]))
"""


@pytest.mark.slow
def test_int8_gpt_run_exports_and_serves_its_own_greedy_text(trained_run, tmp_path):
    """The generator path of `quantize` → `export`: int8 variables in the SavedModel, core ops only, and the
    served greedy text equal to the int8 run's own `generate` (not the float run's)."""
    import os
    import subprocess
    import sys

    import tensorflow as tf

    from keras_llm.export.op_check import check_saved_model_ops
    from keras_llm.generation import DecodingOptions, generate
    from keras_llm.models.quantization import quantization_mode
    from keras_llm.runs import load_gpt_run

    run_dir, _ = trained_run
    int8_run = tmp_path / "gpt-int8"
    quantized = run_cli("quantize", run_dir, "--output", int8_run)
    assert quantized.returncode == 0, quantized.stderr[-2000:]
    exported = run_cli("export", int8_run, "--base-dir", tmp_path / "sm", "--name", "gpt-int8")
    assert exported.returncode == 0, exported.stderr[-2000:]
    path = str(tmp_path / "sm" / "gpt-int8" / "1")
    assert check_saved_model_ops(path).ok
    dtypes = tf.train.load_checkpoint(f"{path}/variables/variables").get_variable_to_dtype_map()
    assert tf.int8 in set(dtypes.values()), dtypes

    prompts = ["First Citizen:\n", "Speak"]
    model, tokenizer, _ = load_gpt_run(str(int8_run))
    assert quantization_mode(model) == "int8"
    expected = generate(model, tokenizer, prompts, DecodingOptions(max_new_tokens=12))
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    served = subprocess.run([sys.executable, "-c", GPT_FRESH_PROCESS, path, json.dumps(prompts)],
                            capture_output=True, text=True, env=env, timeout=300, check=True)
    assert json.loads(served.stdout.strip().splitlines()[-1]) == expected
