"""The exported SavedModel: TF Serving layout, and the same greedy text in a fresh process."""

import json
import os
import subprocess
import sys

from keras_llm.cli import main
from keras_llm.generation import DecodingOptions, generate
from keras_llm.runs import load_gpt_run

PROMPTS = ["First Citizen:\n", "", "Speak"]

FRESH_PROCESS = r"""
import json, sys
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
def run(prompts, n=25, signature="generate"):
    out = loaded.signatures[signature](prompts=tf.constant(prompts, tf.string), max_new_tokens=tf.constant(n),
                   temperature=tf.constant(0.0), top_k=tf.constant(0), seed=tf.constant(0))
    return [t.decode("utf-8", "replace") for t in out["completions"].numpy()]
prompts = json.loads(sys.argv[2])
result = {
    "greedy": run(prompts),
    "greedy_xla": run(prompts, signature="generate_xla"),  # the XLA-compiled twin: same tokens
    "default": [t.decode() for t in loaded.signatures["serving_default"](
        prompts=tf.constant(["Speak"]))["completions"].numpy()],
    "empty_batch": run([]),
    "edge": run(["   ", "x" * 100000, "\udcff".encode("utf-8", "surrogatepass").decode("latin-1")], 5),
    "big_batch": len(run(["Speak"] * 256, 2)),
    "zero": run(["Speak"], 0),
    "default_uses_xla": any(node.attr["_XlaMustCompile"].b for function in loaded.signatures["serving_default"]
                            .graph.as_graph_def().library.function for node in function.node_def),
    "imports": sorted({m.split(".")[0] for m in sys.modules
                       if m.startswith(("keras_llm", "keras_hub", "tensorflow_text"))}),
}
print(json.dumps(result))
"""


def test_export_round_trip_in_a_fresh_process(trained_run, tmp_path):
    run_dir, _ = trained_run
    assert main(["export", str(run_dir), "--base-dir", str(tmp_path), "--name", "tiny"]) == 0
    assert main(["export", str(run_dir), "--base-dir", str(tmp_path), "--name", "tiny"]) == 0
    versions = sorted(os.listdir(tmp_path / "tiny"))
    assert versions == ["1", "2"]  # integer versions, nothing half-written left behind
    assert os.path.isfile(tmp_path / "tiny" / "2" / "saved_model.pb")

    model, tokenizer, _ = load_gpt_run(str(run_dir))
    expected = generate(model, tokenizer, PROMPTS, DecodingOptions(max_new_tokens=25))

    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    completed = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(tmp_path / "tiny" / "2"), json.dumps(PROMPTS)],
        capture_output=True, text=True, env=env, timeout=300, check=True)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["greedy"] == expected and result["greedy_xla"] == expected
    assert result["default_uses_xla"] is False  # without --xla, serving_default runs on any TF Serving
    assert result["imports"] == []  # neither keras_llm nor keras-hub was needed to serve it
    assert len(result["default"]) == 1 and result["default"][0]
    assert result["empty_batch"] == []
    assert [len(t) for t in result["edge"]] == [5, 5, 5]
    assert result["big_batch"] == 256
    assert result["zero"] == [""]
