"""The English-to-Spanish example trains with fit(validation_split), evaluates and decodes sentences."""

import math

import pytest

from tests.examples import load_example

example = load_example("transformer_translation")
pytestmark = pytest.mark.skipif(not example.DATA.is_file(), reason="data/spa_eng/spa.txt is not in the tree yet")


def test_quick_run_trains_evaluates_and_translates(capsys):
    result = example.main(["--quick", "--verbose", "0"])

    history = result["history"]
    assert set(history) >= {"loss", "val_loss", "masked_accuracy", "val_masked_accuracy"}  # validation_split
    assert math.isfinite(result["test_loss"]) and 0.0 <= result["test_accuracy"] <= 1.0
    assert 0.0 <= result["bleu"] <= 100.0
    assert len(result["examples"]) == 3
    assert all(source and reference and isinstance(output, str) for source, output, reference in result["examples"])

    out = capsys.readouterr().out
    assert "test split: loss" in out and "test BLEU" in out and "→" in out


def test_masked_accuracy_ignores_padding():
    import numpy as np

    logits = np.zeros((1, 4, 5), "float32")
    logits[0, [0, 1, 2, 3], [1, 2, 4, 0]] = 5.0  # predicts 1, 2, 4, 0
    labels = np.array([[1, 2, 3, 0]])  # last position is padding
    assert float(example.masked_accuracy(labels, logits)) == pytest.approx(2 / 3)
