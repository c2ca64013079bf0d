"""`keras-llm evaluate` / `predict` on a GPT run, through the console script; bad input exits 2 in one line."""

import concurrent.futures
import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import TINY_CORPUS, assert_one_line_error, run_cli

PROMPTS = ["First", "All:", "", "You are all", "Speak"]


@pytest.fixture(scope="module")
def run_dir(trained_run, tmp_path_factory):
    """A copy of the session's tiny GPT run (evaluate adds logs/evaluate and evaluation/ to a run)."""
    copy = tmp_path_factory.mktemp("gpt_eval") / "run"
    shutil.copytree(trained_run[0], copy)
    return copy


def _model_and_tokenizer(run_dir):
    from keras_llm.runs import load_gpt_run

    model, tokenizer, _ = load_gpt_run(str(run_dir))
    return model, tokenizer


def test_evaluate_scores_every_token_writes_metrics_and_tensorboard(run_dir, tmp_path):
    from keras_llm.experiments.lm_scoring import neural_stream_loss

    test_file = tmp_path / "held_out.txt"
    test_file.write_text(TINY_CORPUS[:1500], encoding="utf-8")
    done = run_cli("evaluate", run_dir, "--test", test_file, "--stride", "32", "--output-dir", tmp_path / "report")
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert metrics["counts"]["tokens"] == 1500 and metrics["counts"]["tokens_scored"] == 1499
    assert metrics["settings"]["stride"] == metrics["settings"]["context_length"] == 32
    # Stride == context is the plain cut into non-overlapping windows, computed independently here.
    model, tokenizer = _model_and_tokenizer(run_dir)
    expected = neural_stream_loss(model, np.asarray(tokenizer.encode(TINY_CORPUS[:1500])), 32, tokenizer.vocab_size)
    assert metrics["cross_entropy"] == pytest.approx(expected, rel=1e-5)
    assert metrics["perplexity"] == pytest.approx(np.exp(expected), rel=1e-5)
    assert metrics["bits_per_character"] == pytest.approx(expected / np.log(2), rel=1e-5)  # char tokenizer
    assert f"perplexity       {metrics['perplexity']:.3f}" in done.stdout
    assert "scoring: 47/47 windows (100%)" in done.stdout and "\r" not in done.stdout  # plain lines, not a TTY
    assert done.stderr == ""
    tags = _tensorboard_tags(run_dir / "logs" / "evaluate")
    assert {"evaluate/perplexity", "evaluate/cross_entropy", "evaluate/bits_per_character"} <= tags


def _tensorboard_tags(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
    events.Reload()
    return set(events.Tags()["tensors"])


def test_predict_text_file_in_batches_gives_the_completions_of_one_greedy_batch(run_dir, tmp_path):
    from keras_llm.generation import DecodingOptions, generate

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    done = run_cli("predict", run_dir, "--input", prompts, "--output", tmp_path / "out.txt", "--decoding", "greedy",
                   "--max-new-tokens", "12", "--batch-size", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "generating: 5/5 prompts (100%)" in done.stdout and done.stderr == ""
    model, tokenizer = _model_and_tokenizer(run_dir)
    expected = generate(model, tokenizer, PROMPTS, DecodingOptions(max_new_tokens=12))
    lines = (tmp_path / "out.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert lines == [completion.replace("\\", "\\\\").replace("\n", "\\n") for completion in expected]


def test_predict_csv_appends_a_completion_column_and_keeps_the_rest(run_dir, tmp_path):
    table = tmp_path / "prompts.csv"
    table.write_text('id,prompt\n1,First\n2,"All:\nSpeak"\n', encoding="utf-8")
    done = run_cli("predict", run_dir, "--input", table, "--output", tmp_path / "out.csv", "--max-new-tokens", "6",
                   "--seed", "7")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sampled with seed 7" in done.stdout
    rows = list(csv.reader((tmp_path / "out.csv").open(encoding="utf-8", newline="")))
    assert rows[0] == ["id", "prompt", "completion"] and [row[:2] for row in rows[1:]] == [["1", "First"],
                                                                                           ["2", "All:\nSpeak"]]
    assert all(0 < len(row[2]) <= 6 for row in rows[1:])  # a char tokenizer: 6 new tokens are ≤ 6 characters


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_bad_input_is_one_line_and_exit_2(run_dir, tmp_path):
    empty, latin1, unknown = tmp_path / "empty.txt", tmp_path / "latin1.txt", tmp_path / "unknown.txt"
    empty.write_text("", encoding="utf-8")
    latin1.write_bytes("Speak, speak.\nCafé".encode("latin-1"))
    unknown.write_text("ÆØÅ ", encoding="utf-8")  # one token the vocabulary knows (the space)
    blocker = tmp_path / "a_file"
    blocker.write_text("x", encoding="utf-8")
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("id,text\n1,hello\n", encoding="utf-8")
    cases = [
        (("evaluate", run_dir, "--test", empty), ["test file is empty"]),
        (("evaluate", run_dir, "--test", latin1), ["not valid UTF-8 (line 2"]),
        (("evaluate", run_dir, "--test", unknown), ["has 1 token", "at least 2"]),
        (("evaluate", run_dir, "--test", latin1, "--stride", "33"), ["stride 33 is larger than", "32 tokens"]),
        (("predict", run_dir, "--input", prompts, "--output", tmp_path / "o.csv"), ["no 'prompt' column", "'text'"]),
        (("predict", run_dir, "--input", unknown, "--output", blocker / "out.txt"), ["cannot write", "not a folder"]),
    ]
    # Each case is a process of its own (TensorFlow's start-up is most of its cost): two at a time.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda case: run_cli(*case[0]), cases))
    for (_, fragments), done in zip(cases, results):
        assert_one_line_error(done, *fragments)
    assert not os.path.exists(tmp_path / "o.csv") and not os.path.exists(run_dir / "evaluation" / "empty")


def test_more_bad_input_in_process(run_dir, tmp_path, capsys):
    """The same one-line path as the console script (main's error handling), without a process per case."""
    from keras_llm.cli import main

    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    for argv, fragment in [(["evaluate", str(run_dir), "--test", str(empty), "--num-beams", "2"],
                            "--num-beams is not used when a gpt run"),
                           (["predict", str(run_dir), "--input", str(empty), "--output", str(tmp_path / "o.txt")],
                            "has no records (empty file)"),
                           (["predict", str(run_dir), "--input", str(tmp_path / "none.txt"), "--output",
                             str(tmp_path / "o.txt")], "input file not found"),
                           (["evaluate", str(tmp_path), "--test", str(empty)], "not a keras-llm run directory")]:
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("keras-llm: error:") and err.count("\n") == 1 and fragment in err, err


@pytest.mark.slow  # an export and a fresh process: ~30 s
def test_predict_equals_the_exported_saved_model(run_dir, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    done = run_cli("predict", run_dir, "--input", prompts, "--output", tmp_path / "out.txt", "--decoding", "greedy",
                   "--max-new-tokens", "15", "--batch-size", "3")
    assert done.returncode == 0, done.stderr[-2000:]
    exported = run_cli("export", run_dir, "--base-dir", tmp_path / "models", "--name", "tiny")
    assert exported.returncode == 0, exported.stderr[-2000:]
    # The SavedModel is served as TF Serving would: a fresh process with tensorflow only, the export's
    # `generate` signature, temperature 0 = greedy.
    script = ("import json, sys, tensorflow as tf\n"
              "model = tf.saved_model.load(sys.argv[1])\n"
              "prompts = json.loads(sys.argv[2])\n"
              "out = model.signatures['generate'](prompts=tf.constant(prompts), max_new_tokens=tf.constant(15),\n"
              "    temperature=tf.constant(0.0), top_k=tf.constant(0), seed=tf.constant(0))['completions']\n"
              "print(json.dumps([text.decode('utf-8') for text in out.numpy()]))\n")
    saved_model = str(tmp_path / "models" / "tiny" / "1")
    served = subprocess.run([sys.executable, "-c", script, saved_model, json.dumps(PROMPTS)],
                            capture_output=True, text=True, timeout=300)
    assert served.returncode == 0, served.stderr[-2000:]
    expected = json.loads(served.stdout.strip().split("\n")[-1])
    lines = (tmp_path / "out.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert lines == [completion.replace("\\", "\\\\").replace("\n", "\\n") for completion in expected]
