"""Run directories through `keras-llm` itself: finished runs are never retrained over, one writer at a
time, a resumed run keeps its own settings, options a recipe would ignore are refused, and names
from flags or files never leave their base directory."""

import argparse
import fcntl
import json
import os
import shutil
import subprocess

import pytest

from keras_llm.cli import main
from keras_llm.cli.run_options import OPTIONS_FILE, honour_saved_options
from keras_llm.errors import UserInputError
from keras_llm.runs.lifecycle import FINISHED, IN_PROGRESS, NEW, open_run, run_state
from tests.conftest import assert_one_line_error, run_cli


@pytest.fixture
def cli(capsys):
    """`keras-llm` in this process (parsing, checks, dispatch; no TensorFlow start-up per call), for the
    cases where the subprocess tests above already cover the console script itself."""
    def call(*argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exit_:
            code = exit_.code
        return subprocess.CompletedProcess(argv, code, *capsys.readouterr())
    return call

TINY_GPT = ["--steps", "4", "--eval-interval", "2", "--eval-batches", "1", "--max-length", "16", "--num-layers", "1",
            "--hidden-dim", "16", "--no-jit"]


@pytest.fixture
def finished_run(trained_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run[0], run_dir)
    return run_dir


def _snapshot(run_dir):
    return {name: (run_dir / name).read_bytes() for name in ("history.csv", "best.keras", "final.keras", "run.json")}


def test_the_shared_run_is_finished(trained_run):
    assert run_state(trained_run[0]) == FINISHED


def test_train_refuses_a_finished_run_and_changes_nothing(finished_run, tiny_corpus):
    before = _snapshot(finished_run)
    completed = run_cli("train", "gpt-shakespeare-char", "--run-dir", finished_run, "--corpus", tiny_corpus, *TINY_GPT)
    assert_one_line_error(completed, "holds a finished run", "--overwrite")
    assert _snapshot(finished_run) == before


def test_resume_of_a_finished_run_is_refused(finished_run, cli):
    assert_one_line_error(cli("train", "gpt-shakespeare-char", "--resume", finished_run), "has finished")


def test_overwrite_moves_the_old_run_aside(finished_run):
    before = _snapshot(finished_run)
    with open_run(str(finished_run), "gpt", overwrite=True, log=lambda line: None):
        assert run_state(str(finished_run)) == NEW
    moved = finished_run.parent / "run.old-1"
    assert _snapshot(moved) == before  # nothing deleted


def test_a_second_writer_fails_at_once(finished_run, tiny_corpus):
    fresh = finished_run.parent / "fresh"
    fresh.mkdir()
    with open(fresh / ".lock", "a+") as handle:  # another process's run holds the lock
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        completed = run_cli("train", "gpt-shakespeare-char", "--run-dir", fresh, "--corpus", tiny_corpus, *TINY_GPT)
    assert_one_line_error(completed, "another keras-llm process is writing")
    assert sorted(os.listdir(fresh)) == [".lock"]


def test_the_lock_is_reentrant_in_one_process_and_exclusive_across_opens(tmp_path):
    with open_run(str(tmp_path / "r"), "gpt"):
        with open_run(str(tmp_path / "r"), "gpt"):  # the CLI around a train_*_run call
            pass
        with open(tmp_path / "r" / ".lock", "a+") as handle, pytest.raises(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_run_of_another_kind_is_not_resumed(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "run.json").write_text(json.dumps({"model": "bert-mlm", "status": "in progress"}))
    assert run_state(str(tmp_path / "r")) == IN_PROGRESS
    with pytest.raises(UserInputError, match="cannot resume"), open_run(str(tmp_path / "r"), "gpt"):
        pass


@pytest.mark.parametrize("content", ["{", "[1, 2]", "\xff"])
def test_a_damaged_run_json_is_one_line(tmp_path, content, cli):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "run.json").write_text(content, encoding="latin-1")
    assert_one_line_error(cli("export", tmp_path / "r", "--base-dir", tmp_path), "damaged")


def test_run_dir_that_is_a_file(tmp_path, tiny_corpus, cli):
    (tmp_path / "file").write_text("x")
    completed = cli("train", "gpt-shakespeare-char", "--run-dir", tmp_path / "file", "--corpus", tiny_corpus)
    assert_one_line_error(completed, "is a file")


@pytest.mark.parametrize("recipe, option", [("bert-classifier", ["--steps", "3"]), ("tagger", ["--corpus", "x.txt"]),
                                            ("gpt-shakespeare-char", ["--epochs", "2"]),
                                            ("translator", ["--text-column", "a"])])
def test_options_a_recipe_would_ignore_are_refused(tmp_path, recipe, option, cli):
    completed = cli("train", recipe, "--run-dir", tmp_path / "r", *option)
    assert_one_line_error(completed, f"{option[0]} is not used by recipe {recipe!r}")
    assert not (tmp_path / "r").exists()


def _train_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--corpus")
    parser.add_argument("--strategy", default="auto")
    return parser


def test_a_resumed_run_keeps_its_own_options(tmp_path):
    parser = _train_parser()
    run_dir = str(tmp_path)
    honour_saved_options(parser.parse_args(["--run-dir", run_dir, "--steps", "400", "--corpus", "small.txt"]), parser)
    # A start that failed before training (no run.json yet) pins nothing: the next attempt records anew.
    honour_saved_options(parser.parse_args(["--run-dir", run_dir, "--steps", "400", "--corpus", "small.txt"]), parser)
    (tmp_path / "run.json").write_text(json.dumps({"model": "gpt", "status": "in progress"}))  # training began
    resumed = honour_saved_options(parser.parse_args(["--run-dir", run_dir, "--strategy", "default"]), parser)
    assert (resumed.steps, resumed.corpus, resumed.strategy) == (400, "small.txt", "default")
    with pytest.raises(UserInputError, match="started with --steps 400"):
        honour_saved_options(parser.parse_args(["--run-dir", run_dir, "--steps", "2000"]), parser)
    assert json.loads((tmp_path / OPTIONS_FILE).read_text()) == {"corpus": "small.txt", "steps": 400}


def test_resume_through_the_cli_refuses_changed_options(tmp_path, tiny_corpus, cli):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"model": "gpt", "status": "in progress", "recipe": "x"}))
    (run_dir / OPTIONS_FILE).write_text(json.dumps({"steps": 400, "corpus": str(tiny_corpus)}))
    completed = cli("train", "gpt-shakespeare-char", "--resume", run_dir, "--steps", "2000")
    assert_one_line_error(completed, "was started with --steps 400")


@pytest.mark.parametrize("argv, fragment", [
    (["--name", "../../escaped"], "one folder name"),
    (["--name", "a/b"], "one folder name"),
])
def test_export_names_stay_inside_the_base_directory(trained_run, tmp_path, argv, fragment, cli):
    completed = cli("export", trained_run[0], "--base-dir", tmp_path / "base", *argv)
    assert_one_line_error(completed, fragment)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "base").exists()


def test_a_recipe_name_from_run_json_cannot_escape_either(finished_run, tmp_path):
    info = json.loads((finished_run / "run.json").read_text())
    (finished_run / "run.json").write_text(json.dumps({**info, "recipe": "../../x"}))
    assert_one_line_error(run_cli("export", finished_run, "--base-dir", tmp_path / "base"), "one folder name")


def test_overwrite_through_the_console_script(finished_run, tiny_corpus):
    before = _snapshot(finished_run)
    completed = run_cli("train", "gpt-shakespeare-char", "--run-dir", finished_run, "--corpus", tiny_corpus,
                        *TINY_GPT, "--overwrite")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "moved the finished run" in completed.stdout
    assert _snapshot(finished_run.parent / "run.old-1") == before  # the old run, whole
    assert run_state(str(finished_run)) == FINISHED
    assert len((finished_run / "history.csv").read_text().splitlines()) == 3  # header + the new run's 2 epochs


def test_generate_through_the_console_script_takes_the_recipe_defaults_and_keeps_stderr_clean(trained_run):
    completed = run_cli("generate", trained_run[0], "--prompt", "ab", "--max-new-tokens", "5", "--seed", "1")
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr[-3000:]
    assert completed.stdout.startswith("ab") and len(completed.stdout[:-1]) == 7  # prompt + 5; print adds "\n"


@pytest.mark.parametrize("argv, fragment", [
    (["--prompt", b"caf\xe9"], "--prompt is not valid UTF-8"),
    (["--temperature", "nan"], "finite"),
    (["--top-p", "inf"], "finite"),
    (["--top-p", "0"], "(0, 1]"),
])
def test_bad_decoding_input_is_one_line(trained_run, argv, fragment, cli):
    # Invalid UTF-8 can only arrive through a real command line; the rest are checked in process.
    run = run_cli if any(isinstance(a, bytes) for a in argv) else cli
    assert_one_line_error(run("generate", trained_run[0], *argv), fragment)


def test_a_resumed_run_refuses_a_corpus_changed_since_it_started(tmp_path, tiny_corpus):
    from keras_llm.runs import train_gpt_run
    from keras_llm.runs.layout import data_fingerprint

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(tiny_corpus.read_text(encoding="utf-8") + "changed\n", encoding="utf-8")
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"model": "gpt", "status": "in progress",
                                                  "data_sha256": data_fingerprint(tiny_corpus)}))
    with pytest.raises(UserInputError, match="changed since the run started"):
        train_gpt_run("gpt-shakespeare-char", run_dir=str(run_dir), corpus=str(corpus), log=lambda line: None)
