"""tf.distribute on this CPU machine: 2 logical devices, 2 worker processes, and bad input.

Each training run is a fresh process (tests/workers/tiny_gpt.py) because logical
devices and TF_CONFIG must be fixed before TensorFlow starts. Every run trains the same tiny
GPT for 2 steps with global batch 8 through the production trainer, so the strategies must
agree with the single-device run.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from keras_llm.distribute import get_strategy, per_replica_batch_size
from keras_llm.errors import UserInputError

WORKER = os.path.join(os.path.dirname(os.path.dirname(__file__)), "workers", "tiny_gpt.py")


def _start(tmp_path, name, *flags, env=None):
    out = tmp_path / f"{name}.npz"
    command = [sys.executable, WORKER, "--run-dir", str(tmp_path / name), "--out", str(out), *flags]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, **(env or {})})
    return process, out


def _finish(process, out, timeout=300):
    log, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, log[-3000:]
    return np.load(out)


@pytest.fixture(scope="module")
def single_device(tmp_path_factory):
    return _finish(*_start(tmp_path_factory.mktemp("single"), "single", "--strategy", "default"))


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_mirrored_over_two_logical_cpus_matches_one_replica(single_device, tmp_path):
    mirrored = _finish(*_start(tmp_path, "mirrored", "--strategy", "mirrored", "--logical-cpus", "2"))
    assert int(mirrored["replicas"]) == 2
    np.testing.assert_array_equal(mirrored["initial"], single_device["initial"])
    assert np.abs(single_device["final"] - single_device["initial"]).max() > 1e-4  # it really trained
    np.testing.assert_allclose(mirrored["final"], single_device["final"], atol=1e-5, rtol=0)


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_multi_worker_fit_with_two_processes_matches_one_process(single_device, tmp_path):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    runs = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        runs.append(_start(tmp_path, f"worker{index}", "--strategy", "multi_worker",
                           env={"TF_CONFIG": json.dumps(config)}))
    first, second = (_finish(*run) for run in runs)
    assert int(first["replicas"]) == 2
    np.testing.assert_array_equal(first["final"], second["final"])
    np.testing.assert_allclose(first["final"], single_device["final"], atol=1e-5, rtol=0)


def test_unknown_strategy_is_one_clear_error():
    with pytest.raises(UserInputError, match="unknown strategy 'gpus'"):
        get_strategy("gpus")


def test_tpu_without_a_tpu_is_one_clear_error():
    with pytest.raises(UserInputError, match="no TPU found"):
        get_strategy("tpu", log=None)


@pytest.mark.parametrize("tf_config, message", [
    ("", "needs TF_CONFIG"),
    ("{not json", "not valid JSON"),
    ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', "cluster.worker"),
    ('{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
    ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "outside"),
    ('{"cluster": {"worker": ["a:1"]}}', "needs task"),
])
def test_malformed_tf_config_is_one_clear_error(monkeypatch, tf_config, message):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(UserInputError, match=message):
        get_strategy("multi_worker", log=None)


def test_global_batch_must_divide_across_replicas():
    class ThreeReplicas:
        num_replicas_in_sync = 3

    assert per_replica_batch_size(12, ThreeReplicas()) == 4
    with pytest.raises(UserInputError, match="not divisible by the 3 replicas"):
        per_replica_batch_size(10, ThreeReplicas())


def test_auto_on_this_machine_is_the_default_strategy(capsys):
    strategy = get_strategy("auto")
    assert strategy.num_replicas_in_sync == 1
    assert "strategy: default (1 replica)" in capsys.readouterr().out
