"""One spelling per idea across commands; the old spellings keep working with a one-line warning."""

import json

import pytest

from tests.conftest import run_cli


@pytest.mark.slow  # default-suite budget (2026-11-30): old spellings only
def test_generate_decoding_and_its_old_spelling_give_the_same_text(trained_run):
    run_dir, _ = trained_run
    new = run_cli("generate", run_dir, "--prompt", "First", "--decoding", "greedy", "--max-new-tokens", "8")
    old = run_cli("generate", run_dir, "--prompt", "First", "--strategy", "greedy", "--max-new-tokens", "8")
    assert new.returncode == 0 and old.returncode == 0, (new.stderr, old.stderr)
    assert new.stdout == old.stdout and new.stdout.startswith("First")
    assert new.stderr == ""
    assert old.stderr == "keras-llm: warning: --strategy is now spelled --decoding; the old spelling will go\n"


def test_a_bad_value_for_the_old_spelling_is_still_one_line(trained_run):
    run_dir, _ = trained_run
    done = run_cli("generate", run_dir, "--strategy", "beam")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "invalid choice" in done.stderr


@pytest.mark.slow  # default-suite budget: a second model family / old spelling; the slow run keeps it
def test_compare_takes_the_train_and_evaluate_spellings_and_the_old_ones(tiny_corpus, tmp_path):
    tiny = ["--models", "ngram", "--steps", "1", "--batch-size", "2", "--eval-batches", "1", "--no-jit"]
    new = run_cli("compare", "--corpus", tiny_corpus, "--output-dir", tmp_path / "new", "--max-length", "8", *tiny)
    old = run_cli("compare", "--corpus", tiny_corpus, "--out-dir", tmp_path / "old", "--sequence-length", "8", *tiny)
    assert new.returncode == 0 and old.returncode == 0, (new.stderr[-2000:], old.stderr[-2000:])
    assert (tmp_path / "new" / "report.md").is_file() and (tmp_path / "old" / "report.md").is_file()
    assert old.stderr.count("keras-llm: warning:") == 2, old.stderr
    assert "--output-dir" in old.stderr and "--max-length" in old.stderr
    for name in ("new", "old"):
        settings = json.loads((tmp_path / name / "results.json").read_text(encoding="utf-8"))["settings"]
        assert settings["sequence_length"] == 8, settings

