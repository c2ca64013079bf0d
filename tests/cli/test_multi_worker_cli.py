"""`keras-llm train ... --strategy multi_worker` through the console script: two worker processes on
127.0.0.1 (TF_CONFIG each) train one model together and end with identical weights. The CLI used to
start the TensorFlow runtime before creating the strategy, which multi-worker collectives forbid."""

import json
import os
import subprocess
import sys

import keras
import numpy as np

import keras_llm  # noqa: F401  (registers the layers, so final.keras loads)
from tests.distribute.test_strategies import _free_ports


def test_two_workers_through_the_console_script(tiny_corpus, tmp_path):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        argv = [script, "train", "gpt-shakespeare-char", "--corpus", str(tiny_corpus), "--steps", "4",
                "--eval-interval", "2", "--eval-batches", "1", "--max-length", "16", "--num-layers", "1",
                "--hidden-dim", "16", "--batch-size", "4", "--no-jit", "--strategy", "multi_worker",
                "--run-dir", str(tmp_path / f"worker{index}")]
        processes.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          env={**os.environ, "TF_CONFIG": json.dumps(tf_config)}))
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-3000:]
        assert "multi_worker (2 replicas)" in out, out
        assert err == "", err[-3000:]  # no runtime notes, no tracebacks
    first, second = (keras.models.load_model(tmp_path / f"worker{i}" / "final.keras").get_weights() for i in (0, 1))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
