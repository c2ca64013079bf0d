"""`keras-llm compare`: end to end on a tiny corpus, the settings, budgets and bad input."""

import json
import math
import time

import keras
import numpy as np
import pytest

from keras_llm.cli import main
from keras_llm.errors import UserInputError
from keras_llm.experiments import compare_lm as compare
from keras_llm.experiments.compare_lm import LMComparisonSettings
from keras_llm.training.callbacks import TimeLimit

TINY = ["--max-length", "16", "--batch-size", "4", "--eval-batches", "2", "--params", "8000", "--no-jit",
        "--eval-interval", "10", "--sample-tokens", "20"]


def _table_rows(report):
    rows = [line for line in report.splitlines() if line.startswith("| ") and not line.startswith("| model")]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in row.strip("|").split("|")] for row in rows)}


def _number(cell):
    return float(cell.split()[0].replace(",", ""))


@pytest.mark.slow  # kept out of the default run for time; `make test-all` runs it
def test_cli_compares_all_models_end_to_end(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "compare"
    code = main(["compare", "--corpus", str(tiny_corpus), "--tokenizer", "char", "--models", "gpt,lstm,gru,ngram",
                 "--steps", "20", "--output-dir", str(out), *TINY])
    assert code == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    rows = _table_rows(report)
    assert list(rows) == ["gpt", "lstm", "gru", "ngram"]
    for name, cells in rows.items():
        params, seconds, steps, steps_per_s, loss, perplexity, loss_all, perplexity_all = cells
        for cell in (params, seconds, loss, perplexity, loss_all, perplexity_all):
            assert math.isfinite(_number(cell)), (name, cell)
        assert math.isclose(_number(perplexity), math.exp(_number(loss)), rel_tol=1e-2)
        if name == "ngram":
            assert steps == "—"
        else:
            assert _number(steps) == 20 and _number(steps_per_s) > 0
            assert abs(_number(params) - 8000) <= 0.25 * 8000, (name, params)
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.count("````text") == 4 and "keras-llm compare --corpus" in report
    results = json.loads((out / "results.json").read_text())
    curves = {r["name"]: r for r in results["results"]}
    assert curves["gpt"]["curve_steps"] == [10, 20]
    assert curves["gpt"]["curve_seconds"] == sorted(curves["gpt"]["curve_seconds"])
    assert results["settings"]["train_tokens"] + results["settings"]["valid_tokens"] == len(
        tiny_corpus.read_text(encoding="utf-8"))


def test_time_budget_stops_training(tiny_corpus, tmp_path):
    settings = LMComparisonSettings(models="lstm", minutes=2 / 60, out_dir=tmp_path, sequence_length=16, batch_size=4,
                                    eval_interval=5, eval_batches=1, params=8000, sample_tokens=5)
    result = compare.compare_language_models(tiny_corpus, settings, log=lambda message: None)
    (lstm,) = result["results"]
    assert lstm.stopped_by_time and 0 < lstm.steps < compare.TIME_BUDGET_STEPS
    assert lstm.curve_seconds[-1] >= 2.0
    assert "(time limit)" in (tmp_path / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, message", [
    (["--models", "gpt,transformerxl"], "unknown model 'transformerxl'"),
    (["--models", ","], "no models"),
    (["--tokenizer", "sentencepiece"], "unknown tokenizer"),
    (["--steps", "0"], "steps must be a positive integer"),
    (["--max-minutes", "-1"], "minutes must be a positive number"),
    (["--max-minutes", "0"], "minutes must be a positive number"),
    (["--steps", "5", "--max-minutes", "1"], "not both"),
    (["--params", "0"], "params must be a positive integer"),
    (["--params", "10"], "no GPT in the search grid"),
    (["--max-length", "4000"], "corpus too small"),
])
def test_bad_input_exits_2_with_one_line(tiny_corpus, tmp_path, capsys, argv, message):
    code = main(["compare", "--corpus", str(tiny_corpus), "--output-dir", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("keras-llm: error:") and message in err, err


@pytest.mark.parametrize("text, message", [("ab\ncd\n" * 3, "corpus too small"), ("", "empty"),
                                           (None, "not found")])
def test_bad_corpus_exits_2_with_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "corpus.txt"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    code = main(["compare", "--corpus", str(path), "--output-dir", str(tmp_path / "out"), "--steps", "5"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_ngram_order_longer_than_training_split_is_rejected(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("to be or not to be, that is the question\n" * 6, encoding="utf-8")
    with pytest.raises(UserInputError, match="n-gram order"):  # the keyword form of earlier releases
        compare.compare_language_models(path, models="ngram", tokenizer="word", ngram_order=500,
                                        sequence_length=2, out_dir=tmp_path / "out")
    with pytest.raises(UserInputError, match="not both"):
        compare.compare_language_models(path, LMComparisonSettings(), steps=5)


def test_settings_fill_their_defaults_and_build_the_training_config():
    steps = LMComparisonSettings(models="GPT, ngram,gpt", steps=500, tokenizer="word")
    assert steps.models == ("gpt", "ngram") and steps.eval_interval == 50 and steps.ngram_order == 3
    training = steps.training_config()
    assert (training.steps, training.warmup_steps, training.min_learning_rate) == (500, 50, 1e-4)
    timed = LMComparisonSettings(minutes=1)
    assert timed.steps is None and timed.minutes == 1.0 and timed.eval_interval == 100
    assert timed.training_config().steps == compare.TIME_BUDGET_STEPS
    assert LMComparisonSettings().steps == compare.DEFAULT_STEPS and LMComparisonSettings().models == compare.MODELS


def test_time_limit_callback_sets_stop_training():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    slow = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: time.sleep(0.02))
    limit = TimeLimit(0.3)
    started = time.perf_counter()
    history = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), batch_size=4, epochs=1000, verbose=0,
                        callbacks=[slow, limit])
    assert limit.stopped and len(history.history["loss"]) < 1000
    assert 0.3 <= limit.elapsed < 0.3 + 5 and time.perf_counter() - started < 10
    with pytest.raises(UserInputError):
        TimeLimit(0)
