"""Entity-level P/R/F1 equal seqeval's (conlleval semantics) on the fixture of tools/make_entity_f1_fixture.py."""

import json
import os

import pytest

from keras_llm.training.entity_metrics import entity_scores, extract_entities

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "entity_f1_seqeval.json")


def _cases():
    with open(FIXTURE, encoding="utf-8") as handle:
        return json.load(handle)["cases"]


def test_fixture_is_big_enough_and_covers_the_schemes():
    cases = _cases()
    tags = {tag for case in cases for sentence in case["gold"] for tag in sentence}
    assert len(cases) > 200
    assert {"B-PER", "I-LOC", "E-MISC", "S-PER", "O"} <= tags


def test_entities_and_scores_equal_seqeval():
    for number, case in enumerate(_cases()):
        entities = [sorted([t, s, e] for t, s, e in extract_entities(g)) for g in case["gold"]]
        assert entities == case["gold_entities"], (number, case["gold"])
        ours = entity_scores(case["gold"], case["predicted"])
        for key in ("precision", "recall", "f1"):
            assert ours[key] == pytest.approx(case[key], abs=1e-12), (number, key)
        for name, (precision, recall, f1, support) in case["per_type"].items():
            row = ours["per_type"][name]
            assert (row["precision"], row["recall"], row["f1"], row["support"]) == \
                pytest.approx((precision, recall, f1, support), abs=1e-9), (number, name)


def test_documented_examples():
    assert extract_entities(["B-PER", "I-PER", "O", "I-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    assert extract_entities(["B-PER", "I-LOC"]) == [("PER", 0, 0), ("LOC", 1, 1)]
    assert extract_entities(["I-PER", "I-PER"]) == [("PER", 0, 1)]  # IOB1
    assert extract_entities(["O", "O"]) == []
    scores = entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)
    assert entity_scores([["O"]], [["O"]])["f1"] == 0.0  # nothing to find: 0 by seqeval's zero_division=0
    with pytest.raises(ValueError):
        entity_scores([["O", "O"]], [["O"]])
