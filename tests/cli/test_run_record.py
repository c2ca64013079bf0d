"""run.json records how a run trains (strategy, replicas, precision), read through the console script."""

import json

from tests.conftest import run_cli


def test_run_json_records_the_strategy_replicas_and_precision(tiny_corpus, tmp_path):
    run_dir = tmp_path / "run"
    done = run_cli("train", "gpt-shakespeare-char", "--corpus", tiny_corpus, "--run-dir", run_dir, "--steps", "2",
                   "--strategy", "mirrored", "--precision", "mixed_bfloat16", "--no-jit",
                   env={"KERAS_LLM_FAILPOINT": "run-written"})
    assert done.returncode == -9, done.stderr[-2000:]  # stopped right after run.json was written
    runtime = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["runtime"]
    assert runtime == {"strategy": "MirroredStrategy", "replicas": 1, "precision": "mixed_bfloat16"}
