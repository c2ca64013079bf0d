"""`keras-llm train ... --strategy multi_worker` through the console script: two worker processes on
127.0.0.1 (free ports, TF_CONFIG each) given ONE run directory, as on a shared file system.

Only the chief (worker 0) writes the run directory; worker 1 trains in a private copy in its own
temporary folder (TMPDIR here), which is gone when it ends. Both end with the same weights: each
worker logs the SHA-256 of its final weights, and the chief's final.keras must have that hash.
The CLI used to start the TensorFlow runtime before creating the strategy, which multi-worker
collectives forbid. docs/distributed.md shows these commands with a measured run.
"""

import csv
import glob
import json
import os
import re
import subprocess
import sys
import time

import pytest

from keras_llm.runs.lifecycle import weights_sha256
from tests.distribute.test_strategies import _free_ports

TINY = ["--steps", "4", "--eval-interval", "2", "--eval-batches", "1", "--max-length", "16", "--num-layers", "1",
        "--hidden-dim", "16", "--batch-size", "4", "--no-jit"]
SHA_LINE = re.compile(r"worker (\d) of 2: final weights sha256 ([0-9a-f]{64})")


def _start_workers(run_flags, tmp_path, name, env=None, per_worker=([], [])):
    """Both workers of one cluster, started as a user would; returns [(process, tmpdir)]."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    started = []
    for index in range(2):
        tmpdir = tmp_path / f"{name}-tmp{index}"
        tmpdir.mkdir()
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        process = subprocess.Popen(
            [script, "train", "gpt-shakespeare-char", *run_flags, "--strategy", "multi_worker", *per_worker[index]],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {}), "TF_CONFIG": json.dumps(tf_config), "TMPDIR": str(tmpdir)})
        started.append((process, tmpdir))
    return started


def _wait(started, timeout=600):
    outputs = [process.communicate(timeout=timeout) for process, _ in started]
    return [(process.returncode, out, err) for (process, _), (out, err) in zip(started, outputs)]


@pytest.fixture(scope="module")
def shared_run(tiny_corpus, tmp_path_factory):
    """One uninterrupted 2-worker run into one shared run directory: (run_dir, results, tmpdirs, seconds)."""
    tmp_path = tmp_path_factory.mktemp("multi_worker")
    run_dir = tmp_path / "shared-run"
    started_at = time.time()
    started = _start_workers(["--corpus", str(tiny_corpus), *TINY, "--run-dir", str(run_dir)], tmp_path, "run")
    results = _wait(started)
    return run_dir, results, [tmpdir for _, tmpdir in started], time.time() - started_at


def _final_hashes(results):
    hashes = {}
    for returncode, out, err in results:
        assert returncode == 0, err[-3000:]
        assert err == "", err[-3000:]  # no runtime notes, no tracebacks
        assert "multi_worker (2 replicas)" in out, out
        hashes.update(SHA_LINE.findall(out))
    return hashes


def test_two_workers_end_with_identical_weights(shared_run):
    run_dir, results, _, _ = shared_run
    hashes = _final_hashes(results)
    assert sorted(hashes) == ["0", "1"], [out for _, out, _ in results]
    assert hashes["0"] == hashes["1"]
    assert weights_sha256(run_dir / "final.keras") == hashes["0"]  # the chief's file holds those weights


def test_only_the_chief_writes_the_shared_run_directory(shared_run):
    run_dir, results, tmpdirs, _ = shared_run
    _final_hashes(results)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "finished"
    assert {"final.keras", "best.keras", "history.csv", "tokenizer", "logs", "run.json"} <= set(os.listdir(run_dir))
    assert not (run_dir / "backup").exists()  # a finished run drops its backups
    with open(run_dir / "history.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 2  # 4 steps / interval 2, written once, not once per worker
    # One TensorBoard writer per split: a second worker writing here would add its own event files.
    assert len(glob.glob(str(run_dir / "logs" / "train" / "events.out.tfevents.*"))) == 1
    assert len(glob.glob(str(run_dir / "logs" / "validation" / "events.out.tfevents.*"))) == 1
    # Worker 1 said where its copy went (its temporary folder) and removed it.
    _, worker1_out, _ = results[1]
    assert f"this worker trains in {tmpdirs[1]}" in worker1_out, worker1_out
    assert os.listdir(tmpdirs[1]) == []


@pytest.mark.slow  # two clusters of two processes (~40 s on 2 busy cores)
def test_a_killed_multi_worker_run_resumes_to_the_same_weights(shared_run, tiny_corpus, tmp_path):
    _, results, _, _ = shared_run
    expected = _final_hashes(results)["0"]
    run_dir = tmp_path / "killed-run"
    # Both workers die (SIGKILL) right after the first evaluation's backup.
    killed = _wait(_start_workers(["--corpus", str(tiny_corpus), *TINY, "--run-dir", str(run_dir)], tmp_path,
                                  "killed", env={"KERAS_LLM_FAILPOINT": "after-backup@0"}))
    assert [returncode for returncode, _, _ in killed] == [-9, -9], [err[-2000:] for _, _, err in killed]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "in progress"
    # Worker 1 pointed at another folder (no shared file system) cannot resume: both stop in one line.
    split = _wait(_start_workers(["--run-dir", str(run_dir)], tmp_path, "split",
                                 per_worker=[[], ["--run-dir", str(tmp_path / "elsewhere")]]))
    for returncode, _, err in split:
        assert returncode == 2 and err.count("\n") == 1 and "resume" in err and "different backups" in err, err
    resumed = _wait(_start_workers(["--resume", str(run_dir)], tmp_path, "resumed"))
    hashes = _final_hashes(resumed)
    assert hashes == {"0": expected, "1": expected}
    assert weights_sha256(run_dir / "final.keras") == expected
    with open(run_dir / "history.csv", newline="") as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["0", "1"]
