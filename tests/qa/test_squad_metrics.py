"""Exact match and token F1 with SQuAD v1.1's normalisation, on answers worked out by hand."""

import pytest

from keras_llm.evaluation.squad import exact_match, normalize_answer, squad_scores, token_f1


@pytest.mark.parametrize("text, normalised", [
    ("The  Quick, brown-fox!", "quick brownfox"),  # punctuation is deleted, not replaced by a space
    ("An apple a day", "apple day"),
    ("theater of the absurd", "theater of absurd"),  # articles only as whole words
    ("  Denver\tBroncos\n", "denver broncos"),
    ("the", ""),
    ("São Paulo's “best”", "são paulos “best”"),  # only ASCII punctuation goes (string.punctuation)
])
def test_normalisation(text, normalised):
    assert normalize_answer(text) == normalised


def test_exact_match_takes_the_best_reference():
    assert exact_match("the Eiffel Tower.", ["Paris", "Eiffel Tower"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel Tower"]) == 0.0


def test_token_f1_counts_shared_tokens_with_multiplicity():
    assert token_f1("Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)  # P 2/3, R 1
    assert token_f1("x x y", ["x y y"]) == pytest.approx(2 / 3)  # shared: one x, one y
    assert token_f1("Broncos", ["Carolina", "the Denver Broncos"]) == pytest.approx(2 / 3)  # P 1, R 1/2
    assert token_f1("", ["anything"]) == 0.0
    assert token_f1("The", ["a"]) == 0.0  # both normalise to nothing: no shared token, as the official script


def test_squad_scores_average_over_questions_with_references():
    scores = squad_scores({"q1": "Denver Broncos", "q2": "Carolina", "q4": "x"},
                          {"q1": ["Denver Broncos"], "q2": ["Carolina Panthers"], "q3": ["1995"], "q4": []})
    assert scores["questions"] == 3 and scores["missing"] == 1  # q4 has no reference: not scored
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3)
