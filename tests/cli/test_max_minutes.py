"""`keras-llm train RECIPE --max-minutes M`: a wall-time budget for every recipe (docs/backbones_and_budgets.md).

Default run: one tiny GPT run whose budget (0.001 minutes) is spent by its first step, then resumed
without a budget: the budget run stops early and says so, run.json records the budget, the steps run
and the stop, best.keras is kept, and the resumed run trains on to its planned end. Bad
budgets are refused in one line each. `-m slow`: an epoch-counted recipe (the BiLSTM classifier) is cut
the same way, and evaluate reads its kept checkpoint.
"""

import json
import re
import subprocess

import pytest

from keras_llm.cli.main import main
from tests.conftest import NEGATIVE, POSITIVE, assert_one_line_error, run_cli

TINY_GPT = ["--steps", "6", "--eval-interval", "2", "--eval-batches", "1", "--batch-size", "4", "--max-length", "16",
            "--num-layers", "1", "--hidden-dim", "16", "--no-jit"]


def _run_info(run_dir):
    return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def budget_run(tiny_corpus, tmp_path_factory):
    """A GPT run cut by its time budget after its first step, and the same run resumed without one."""
    run_dir = tmp_path_factory.mktemp("budget") / "gpt"
    cut = run_cli("train", "gpt-shakespeare-char", "--corpus", tiny_corpus, "--run-dir", run_dir, *TINY_GPT,
                  "--max-minutes", "0.001")
    cut_info = _run_info(run_dir) if (run_dir / "run.json").is_file() else None
    best_after_cut = (run_dir / "best.keras").read_bytes() if (run_dir / "best.keras").is_file() else None
    resumed = run_cli("train", "gpt-shakespeare-char", "--resume", run_dir)
    return run_dir, cut, cut_info, best_after_cut, resumed


def test_a_spent_budget_stops_training_and_says_so(budget_run):
    _, cut, _, _, _ = budget_run
    assert cut.returncode == 0, cut.stderr[-3000:]
    assert re.search(r"time limit: max_minutes 0.001 spent after [\d.]+ s; 1 of 6 planned steps trained", cut.stdout)
    assert "stopped early: 1 of 6 planned steps trained" in cut.stdout, cut.stdout
    assert re.search(r"^\s*1/2 - ", cut.stdout, re.M), cut.stdout  # the bar ends at the step reached, not 2/2
    assert "trained 1 steps in" in cut.stdout
    assert "--resume" in cut.stdout  # how to train on


def test_run_json_records_the_budget_the_steps_run_and_the_stop(budget_run):
    _, _, info, best, _ = budget_run
    assert info["training"]["max_minutes"] == 0.001
    assert info["trained"]["steps"] == 1 and info["trained"]["planned_steps"] == 6
    assert info["trained"]["stopped_by"] == "time_limit" and info["trained"]["max_minutes"] == 0.001
    assert info["status"] == "stopped on its time limit"  # resumable, not finished
    assert best is not None and best[:2] == b"PK"  # the cut epoch was validated and checkpointed (.keras)


def test_resuming_a_stopped_run_trains_on_with_a_budget_of_its_own(budget_run):
    run_dir, _, _, _, resumed = budget_run
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    info = _run_info(run_dir)
    # No --max-minutes on the resume: the recipe's budget (none), so it trains to its planned end; the
    # resume is step-exact: it makes up the cut epoch's missing step, then trains the last two epochs.
    assert info["status"] == "finished" and info["training"]["max_minutes"] is None
    assert info["trained"]["stopped_by"] == "planned_end"
    assert info["trained"]["steps"] == 6 and info["trained"]["planned_steps"] == 6
    assert re.search(r"^\s*1/2 - ", resumed.stdout, re.M), resumed.stdout  # the cut epoch's one missing step
    assert not (run_dir / "backup").exists()
    assert len((run_dir / "history.csv").read_text(encoding="utf-8").splitlines()) == 1 + 3


@pytest.mark.parametrize("value, message", [("0", "must be positive"), ("-2", "must be positive"),
                                            ("nan", "finite"), ("inf", "finite"), ("ten", "expected a number")])
def test_a_bad_budget_is_one_line(value, message, tiny_corpus, tmp_path, capsys):
    argv = ["train", "gpt-shakespeare-char", "--corpus", str(tiny_corpus), "--run-dir", str(tmp_path / "run"),
            f"--max-minutes={value}"]
    if value == "0":  # one through the console script; the parser is the same in this process
        done = run_cli(*argv)
    else:
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        done = subprocess.CompletedProcess(argv, exit_.value.code, "", capsys.readouterr().err)
    assert_one_line_error(done, "--max-minutes", message)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_an_epoch_recipe_is_cut_too_and_evaluate_reads_its_best_checkpoint(tmp_path):
    table = tmp_path / "reviews.csv"
    table.write_text("text,label\n" + "\n".join([f'"{t}",pos' for t in POSITIVE * 4] +
                                                 [f'"{t}",neg' for t in NEGATIVE * 4]) + "\n", encoding="utf-8")
    run_dir = tmp_path / "run"
    done = run_cli("train", "bert-classifier", "--train", table, "--run-dir", run_dir, "--backbone", "bilstm",
                   "--epochs", "3", "--batch-size", "4", "--max-minutes", "0.0005")
    assert done.returncode == 0, done.stderr[-3000:]
    info = _run_info(run_dir)
    assert info["trained"]["stopped_by"] == "time_limit" and info["trained"]["steps"] < info["trained"]["planned_steps"]
    assert (run_dir / "best.keras").is_file()
    evaluated = run_cli("evaluate", run_dir, "--test", table)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
