"""Word-level tagging scores against values computed by hand."""

import pytest

from keras_llm.evaluation.tagging import NOT_TAGGED, tagging_scores


def test_word_scores_by_hand():
    gold = [["B-PER", "O"], ["O"]]
    predicted = [["B-PER", "B-PER"], [None]]  # the last word was past max_length
    scores = tagging_scores(gold, predicted, ["B-PER", "O"])
    assert scores["words"] == 3 and scores["untagged_words"] == 1
    assert scores["accuracy"] == pytest.approx(1 / 3)
    # B-PER: 1 right of 2 predicted, 1 gold → P 1/2, R 1, F1 2/3; O: none predicted, 2 gold → 0
    assert scores["per_tag"]["B-PER"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert scores["per_tag"]["O"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert NOT_TAGGED not in scores["per_tag"]
    # micro: 1 right of 2 predictions of real tags, of 3 gold words
    assert scores["micro_precision"] == 0.5 and scores["micro_recall"] == pytest.approx(1 / 3)
    assert scores["micro_f1"] == pytest.approx(0.4)
    assert scores["confusion"]["labels"] == ["B-PER", "O", NOT_TAGGED]
    assert scores["confusion"]["matrix"] == [[1, 0, 0], [1, 0, 1], [0, 0, 0]]


def test_unseen_gold_tags_are_errors_with_their_own_row():
    scores = tagging_scores([["B-ORG", "O", "O"]], [["O", "O", "O"]], ["O", "B-PER"])
    assert scores["unseen_tags"] == {"B-ORG": 1}
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["per_tag"]["B-ORG"]["support"] == 1 and scores["per_tag"]["B-ORG"]["recall"] == 0.0
    # O: P 2/3, R 1 → F1 0.8; B-PER absent everywhere → not averaged; B-ORG 0
    assert scores["macro_f1"] == pytest.approx((0.8 + 0.0) / 2)


def test_lengths_must_agree():
    with pytest.raises(ValueError):
        tagging_scores([["O", "O"]], [["O"]], ["O"])
