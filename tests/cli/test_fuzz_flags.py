"""Property layer over command-line values: whatever numbers or strings a user types, `keras-llm` either
works (exit 0) or says what is wrong in one line (exit 2) — never a traceback, never a partial file.

Runs `keras_llm.cli.main` in process (argument parsing, option checks and decoding are what is
exercised; the subprocess tests cover the console script itself) on the session's tiny GPT run.
"""

import errno
import os

import keras
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keras_llm.cli import main

NUMBERS = st.one_of(st.integers(-5, 400).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["nan", "-inf", "1e309", "0x10", "", " ", "2.5e-3", "abc", "٣"]))
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _outcome(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own exit
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.err


@SETTINGS
@given(flag=st.sampled_from(["--max-new-tokens", "--temperature", "--top-k", "--top-p", "--num-beams",
                             "--length-penalty", "--seed"]), value=NUMBERS)
@pytest.mark.slow  # kept out of the default run for time; `make test-all` runs it
def test_generate_values_give_output_or_one_line(trained_run, capsys, flag, value):
    extra = ["--max-new-tokens", "3"] if flag != "--max-new-tokens" else []
    if flag == "--max-new-tokens" and value.strip().lstrip("-").isdigit() and int(value) > 20:
        value = "20"  # keep each example cheap
    code, err = _outcome(["generate", str(trained_run[0]), "--prompt", "ab", *extra, flag, value], capsys)
    assert code in (0, 2), (flag, value, code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("keras-llm"), (flag, value, err)
    else:
        assert err == "", (flag, value, err)


@SETTINGS
@given(flag=st.sampled_from(["--steps", "--batch-size", "--learning-rate", "--eval-interval", "--max-length",
                             "--num-layers", "--hidden-dim", "--epochs", "--steps-per-execution"]), value=NUMBERS)
def test_train_values_are_checked_before_anything_is_written(tmp_path_factory, capsys, flag, value):
    run_dir = tmp_path_factory.mktemp("fuzz") / "run"
    # An unknown corpus stops every well-formed command before training, after every value check.
    code, err = _outcome(["train", "gpt-shakespeare-char", "--run-dir", str(run_dir), "--corpus",
                          str(run_dir.parent / "missing.txt"), flag, value], capsys)
    assert code == 2 and err.count("\n") == 1 and err.startswith("keras-llm"), (flag, value, err)
    assert not run_dir.exists(), os.listdir(run_dir)  # a run that never started leaves nothing behind


def test_a_full_disk_during_training_is_one_line_and_keeps_the_last_backup(tiny_corpus, tmp_path, capsys,
                                                                        monkeypatch):
    run_dir = tmp_path / "run"
    argv = ["train", "gpt-shakespeare-char", "--corpus", str(tiny_corpus), "--run-dir", str(run_dir), "--steps",
            "6", "--eval-interval", "2", "--eval-batches", "1", "--batch-size", "4", "--max-length", "16",
            "--num-layers", "1", "--hidden-dim", "16", "--no-jit"]
    calls = []
    save_weights = keras.Model.save_weights

    def fill_the_disk_on_the_second_backup(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", path)
        return save_weights(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", fill_the_disk_on_the_second_backup)
    code, err = _outcome(argv, capsys)
    assert code == 2 and err.count("\n") == 1 and "no space left on the device" in err, err
    assert sorted(os.listdir(run_dir / "backup")) == ["epoch-000001"]  # the first backup, whole; no leftovers
    monkeypatch.setattr(keras.Model, "save_weights", save_weights)
    assert main(argv) == 0  # the space is back: the run resumes from that backup


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flag=st.sampled_from(["--max-new-tokens", "--temperature", "--top-k", "--top-p", "--num-beams",
                             "--length-penalty"]), value=NUMBERS)
def test_generate_values_many(trained_run, capsys, flag, value):
    test_generate_values_give_output_or_one_line.hypothesis.inner_test(trained_run, capsys, flag, value)
