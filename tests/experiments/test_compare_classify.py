"""`keras-llm compare --task classify`: four classifiers on one tiny table, the report, bad input."""

import json

import numpy as np
import pytest

from keras_llm.cli import main
from keras_llm.errors import UserInputError
from keras_llm.experiments.classify_runs import scores, word_ids
from keras_llm.experiments.compare_classify import (
    ClassifierComparisonSettings,
    compare_classifiers,
    load_split,
    parse_classifier_models,
)

GOOD = ["great", "wonderful", "loved", "superb", "brilliant"]
BAD = ["awful", "terrible", "hated", "boring", "dreadful"]
FILLER = ["the film was", "this movie is", "i think it", "the cast", "a story"]
TINY = dict(epochs=2, hidden_dim=16, bert_layers=1, bert_vocab_size=200, max_length=16, jit_compile=False)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("classify") / "reviews.csv"
    rows = []
    for i in range(30):
        rows.append(f'"{FILLER[i % 5]} {GOOD[i % 5]}, {GOOD[(i + 2) % 5]}",pos')
        rows.append(f'"{FILLER[(i + 1) % 5]} {BAD[i % 5]}, {BAD[(i + 3) % 5]}",neg')
    path.write_text("review,sentiment\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _table_rows(report):
    rows = [line for line in report.splitlines() if line.startswith("| ") and not line.startswith("| model")]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in row.strip("|").split("|")] for row in rows)}


@pytest.fixture(scope="module")
def compared(table, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    settings = ClassifierComparisonSettings(out_dir=out, text_column="review", label_column="sentiment", **TINY)
    result = compare_classifiers(table, settings)
    return out, result


@pytest.mark.slow  # kept out of the default run for time; `make test-all` runs it
def test_all_four_models_are_scored_and_reported(compared):
    out, result = compared
    assert [r["model"] for r in result["results"]] == ["bert", "bilstm", "gru", "bow"]
    rows = _table_rows((out / "report.md").read_text(encoding="utf-8"))
    assert list(rows) == ["bert", "bilstm", "gru", "bow"]
    for name, (params, seconds, epochs_run, accuracy, macro_f1) in rows.items():
        assert int(params.replace(",", "")) > 0, name
        assert float(seconds) > 0 and 1 <= int(epochs_run) <= 2, name
        assert 0.0 <= float(accuracy) <= 1.0 and 0.0 <= float(macro_f1) <= 1.0, name
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "results.json").read_text())["settings"]["labels"] == ["neg", "pos"]


def test_bag_of_ngrams_learns_the_giveaway_words(table, tmp_path):
    # The form of earlier releases: out_dir second, the settings as keywords.
    result = compare_classifiers(table, tmp_path, text_column="review", label_column="sentiment", models="bow",
                                 epochs=10, jit_compile=False)
    (bow,) = result["results"]
    assert bow["accuracy"] == 1.0 and bow["macro_f1"] == pytest.approx(1.0)


def test_one_stratified_split_shared_by_all(table):
    (train_texts, train_ids), (valid_texts, valid_ids), labels = load_split(table, None, "review", "sentiment", 1337)
    assert labels == ["neg", "pos"]
    assert len(train_texts) == 54 and len(valid_texts) == 6 and np.bincount(valid_ids).tolist() == [3, 3]
    again = load_split(table, None, "review", "sentiment", 1337)
    assert again[1][0] == valid_texts and again[0][0] == train_texts


def test_scores_accuracy_and_macro_f1():
    result = scores([0, 0, 1, 1], [0, 1, 1, 1], 2)
    assert result["accuracy"] == 0.75
    # class 0: P=1/2, R=1 -> 2/3; class 1: P=1, R=2/3 -> 0.8
    assert result["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2, abs=1e-6)


def test_cli_classify_returns_zero(table, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["compare", "--task", "classify", "--train", str(table), "--text-column", "review",
                 "--label-column", "sentiment", "--models", "bow,gru", "--epochs", "1", "--no-jit",
                 "--output-dir", str(out)])
    assert code == 0
    assert list(_table_rows((out / "report.md").read_text(encoding="utf-8"))) == ["bow", "gru"]
    assert "report written" in capsys.readouterr().out


def _one_line_error(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("keras-llm: error:")
    return err


def test_bad_input_exits_2_with_one_line(table, tmp_path, capsys):
    base = ["compare", "--task", "classify", "--output-dir", str(tmp_path / "bad")]
    err = _one_line_error(base + ["--train", str(table), "--text-column", "text", "--label-column", "sentiment"],
                          capsys)
    assert "'text'" in err and "review, sentiment" in err
    single = tmp_path / "single.csv"
    single.write_text("text,label\n" + "\n".join(f"row {i},a" for i in range(10)) + "\n", encoding="utf-8")
    assert "single class" in _one_line_error(base + ["--train", str(single)], capsys)
    common = ["--train", str(table), "--text-column", "review", "--label-column", "sentiment"]
    assert "unknown model 'svm'" in _one_line_error(base + common + ["--models", "bow,svm"], capsys)
    assert "epochs must be a positive integer" in _one_line_error(base + common + ["--epochs", "0"], capsys)
    assert "--train" in _one_line_error(base, capsys)
    assert not (tmp_path / "bad").exists()


def test_model_names_are_checked():
    assert parse_classifier_models("BOW, gru,bow") == ("bow", "gru")
    with pytest.raises(UserInputError, match="no models"):
        parse_classifier_models(" , ")


def test_settings_are_checked_and_recorded(table):
    settings = ClassifierComparisonSettings(models="gru, BOW", epochs=3, jit_compile=0)
    assert settings.models == ("gru", "bow") and settings.jit_compile is False
    record = settings.record(table)
    assert record["models"] == ["gru", "bow"] and record["batch_size"] == 32 and record["patience"] == 2
    with pytest.raises(UserInputError, match="max-length must be a positive integer"):
        ClassifierComparisonSettings(max_length=0)
    with pytest.raises(UserInputError, match="not both"):
        compare_classifiers(table, settings, epochs=2)


def test_word_ids_pad_with_zero_and_survive_unicode_whitespace():
    from keras_llm.tokenizers import WordTokenizer

    texts = ["good good film\x85 film", "bad\u2028bad film"]
    tokenizer = WordTokenizer.train("\n".join(texts), min_frequency=2, lowercase=True)
    ids = word_ids(tokenizer, texts + ["unseen"], 4)
    assert ids.shape == (3, 4) and ids.dtype == np.int32
    assert ids[2].tolist() == [1, 0, 0, 0]  # [UNK] is 1 after the shift; 0 is padding only
    shifted = {word: index + 1 for index, word in enumerate(tokenizer.vocabulary)}
    assert ids[0].tolist() == [shifted["good"], shifted["good"], shifted["film"], shifted["film"]]
    assert ids[1].tolist() == [shifted["bad"], shifted["bad"], shifted["film"], 0]
