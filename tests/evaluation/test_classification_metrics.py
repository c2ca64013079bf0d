"""The classification scores against values computed by hand (scikit-learn's definitions, zero_division=0)."""

import numpy as np
import pytest

from keras_llm.evaluation.classification import (
    classification_scores,
    confusion_matrix,
    format_confusion_table,
    format_per_class_table,
    most_confident_mistakes,
)
from keras_llm.evaluation.confusion_plot import save_confusion_png


def test_three_classes_by_hand():
    # gold a a a b b c, predicted a b a b c c
    matrix = confusion_matrix([0, 0, 0, 1, 1, 2], [0, 1, 0, 1, 2, 2], 3)
    assert matrix.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    scores = classification_scores(matrix, ["a", "b", "c"])
    # a: P 2/2, R 2/3, F1 0.8;  b: P 1/2, R 1/2, F1 0.5;  c: P 1/2, R 1/1, F1 2/3
    assert scores["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert scores["per_class"]["b"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert scores["per_class"]["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert scores["macro_precision"] == pytest.approx(2 / 3)
    assert scores["macro_recall"] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert scores["weighted_f1"] == pytest.approx((0.8 * 3 + 0.5 * 2 + 2 / 3 * 1) / 6)
    assert scores["micro_precision"] == scores["micro_recall"] == scores["micro_f1"] == pytest.approx(4 / 6)
    assert scores["examples"] == 6


def test_a_gold_class_the_model_cannot_predict_is_an_error_and_averaged():
    # gold a b z, predicted a b a: z is never predictable (a class the run never saw)
    scores = classification_scores(confusion_matrix([0, 1, 2], [0, 1, 0], 3), ["a", "b", "z"])
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["per_class"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 1.0 + 0.0) / 3)  # a: P 1/2, R 1 → F1 2/3


def test_a_class_absent_from_gold_and_predictions_is_left_out_of_the_averages():
    scores = classification_scores(confusion_matrix([0, 1, 1], [0, 1, 0], 3), ["a", "b", "c"])
    # a: P 1/2 R 1 F1 2/3; b: P 1 R 1/2 F1 2/3; c: absent → not averaged (it would pull macro-F1 to 4/9)
    assert scores["macro_f1"] == pytest.approx(2 / 3)
    assert scores["per_class"]["c"]["support"] == 0


def test_an_unscored_prediction_column_lowers_recall_not_precision():
    # column 2 is "not tagged": a wrong prediction of no real class
    matrix = confusion_matrix([0, 0, 1, 1], [0, 2, 1, 2], 3)
    scores = classification_scores(matrix, ["a", "b", "none"], scored=[True, True, False])
    assert set(scores["per_class"]) == {"a", "b"}
    assert scores["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert scores["micro_precision"] == 1.0 and scores["micro_recall"] == 0.5
    assert scores["accuracy"] == 0.5


def test_confusion_matrix_refuses_ids_out_of_range():
    with pytest.raises(ValueError):
        confusion_matrix([0, 3], [0, 1], 3)


def test_most_confident_mistakes_are_wrong_and_ordered():
    probabilities = [0.9, 0.99, 0.6, 0.95, 0.7]
    assert most_confident_mistakes(probabilities, [0, 1, 1, 0, 1], [1, 1, 0, 1, 0], count=2) == [3, 0]
    assert most_confident_mistakes([0.5], [1], [1]) == []


def test_text_tables():
    table = format_per_class_table({"pos": {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 4}}, "label")
    assert table.splitlines()[1].split() == ["pos", "0.5000", "1.0000", "0.6667", "4"]
    confusion = format_confusion_table(np.array([[5, 1], [0, 12]]), ["neg", "pos"]).splitlines()
    assert confusion[1].split() == ["neg", "5", "1"] and confusion[2].split() == ["pos", "0", "12"]
    assert "too many" in format_confusion_table(np.zeros((13, 13), int), [str(i) for i in range(13)])


def test_confusion_png_is_written_atomically(tmp_path):
    path = tmp_path / "c.png"
    save_confusion_png([[3, 1], [0, 2]], ["neg", "pos"], str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]


def test_class_names_the_font_cannot_draw_are_numbered_without_a_warning(tmp_path):
    """Chinese category names (CSL) with matplotlib's default font: no glyph warnings on stderr, and the
    plot numbers the classes instead of drawing empty boxes; Latin names are drawn as given."""
    import warnings

    from keras_llm.evaluation import confusion_plot

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_confusion_png([[3, 1], [0, 2]], ["工学", "理学"], str(tmp_path / "zh.png"))
    assert (tmp_path / "zh.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _, missing = confusion_plot._render(np.array([[3, 1], [0, 2]]), ["工学", "理学"], "t")
    _, missing_latin = confusion_plot._render(np.array([[3, 1], [0, 2]]), ["neg", "pos"], "t")
    assert missing and not missing_latin
