"""Test-wide set-up: TensorFlow backend, quiet logs, a fixed seed per test."""

import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_and_policy():
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


TINY_CORPUS = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
               "All:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n\n") * 40


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text(TINY_CORPUS, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def trained_run(tiny_corpus, tmp_path_factory):
    """A tiny GPT run trained once for the whole session (seconds)."""
    from keras_llm.runs import train_gpt_run

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    _, history = train_gpt_run(
        "gpt-shakespeare-char", run_dir=str(run_dir), corpus=str(tiny_corpus),
        training_overrides=dict(steps=120, eval_interval=40, eval_batches=2, batch_size=8, warmup_steps=10,
                                learning_rate=3e-3),
        model_overrides=dict(max_length=32, num_layers=1, num_heads=2, hidden_dim=32),
        verbose=0, log=lambda message: None)
    return run_dir, history

POSITIVE = ["a great film", "truly wonderful acting", "great and wonderful", "i loved it", "loved the great cast",
            "wonderful story", "great fun", "i loved this wonderful movie"]
NEGATIVE = ["a terrible film", "truly awful acting", "awful and terrible", "i hated it", "hated the awful cast",
            "terrible story", "awful mess", "i hated this terrible movie"]


@pytest.fixture(scope="session")
def sentiment_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "reviews.csv"
    rows = [f'"{text}",pos' for text in POSITIVE * 4] + [f'"{text}",neg' for text in NEGATIVE * 4]
    path.write_text("review,sentiment\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_cli(*argv, cwd=None, env=None, timeout=600):
    """Run the installed ``keras-llm`` console script in a subprocess (as a user would); returns the
    ``CompletedProcess`` with text stdout/stderr. Byte-string arguments pass through unchanged;
    ``env`` adds variables to this process's environment."""
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    return subprocess.run([script, *[str(a) if not isinstance(a, bytes) else a for a in argv]], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def assert_one_line_error(completed, *fragments):
    """Exit code 2 and exactly one ``keras-llm: error:`` line on stderr containing every fragment."""
    assert completed.returncode == 2, (completed.returncode, completed.stderr[-2000:])
    assert completed.stderr.count("\n") == 1 and completed.stderr.startswith("keras-llm"), completed.stderr[-2000:]
    for fragment in fragments:
        assert fragment in completed.stderr, completed.stderr


@pytest.fixture(scope="session")
def lora_classifier_run(sentiment_csv, tmp_path_factory):
    """A small BERT classifier fine-tuned with LoRA rank 2 through the console script, once per session
    (the teacher, quantization source and LoRA run of tests/cli/test_{lora,quantize,distill}_cli.py)."""
    run_dir = tmp_path_factory.mktemp("lora") / "run"
    completed = run_cli("train", "bert-classifier", "--train", sentiment_csv, "--text-column", "review",
                        "--label-column", "sentiment", "--epochs", "1", "--max-length", "16", "--lora-rank", "2",
                        "--no-jit", "--run-dir", run_dir)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return run_dir, completed
