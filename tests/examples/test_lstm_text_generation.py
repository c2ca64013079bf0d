"""The LSTM text-generation example trains, validates and writes greedy and sampled text."""

import math

import numpy as np
import pytest

from keras_llm.errors import UserInputError
from tests.examples import load_example


@pytest.fixture(scope="module")
def quick_run():
    example = load_example("lstm_text_generation")
    return example, example.main(["--quick", "--verbose", "0"])


def test_quick_run_reports_validation_and_both_continuations(quick_run, capsys):
    _, result = quick_run
    assert math.isfinite(result["val_loss"])
    assert math.isclose(result["val_perplexity"], math.exp(result["val_loss"]))
    # Even 30 steps beat uniform guessing over the 65 characters.
    assert 1.0 < result["val_perplexity"] < 65
    for key in ("greedy", "sampled"):
        assert result[key].startswith("ROMEO:") and len(result[key]) == len("ROMEO:") + 40


def test_generate_text_greedy_is_deterministic_and_sampling_follows_the_rng(quick_run):
    example, result = quick_run
    model, tokenizer = result["model"], result["tokenizer"]
    greedy = example.generate_text(model, tokenizer, "To be", 15)
    assert greedy == example.generate_text(model, tokenizer, "To be", 15, temperature=0)
    assert greedy.startswith("To be") and len(greedy) == 20
    first = example.generate_text(model, tokenizer, "To be", 15, temperature=1.0, rng=np.random.default_rng(3))
    again = example.generate_text(model, tokenizer, "To be", 15, temperature=1.0, rng=np.random.default_rng(3))
    assert first == again
    with pytest.raises(UserInputError):
        example.generate_text(model, tokenizer, "\u4e00", 5)  # no known character
    with pytest.raises(UserInputError):
        example.generate_text(model, tokenizer, "To be", 5, temperature=-1.0)


def test_bad_flag_values_are_user_errors():
    example = load_example("lstm_text_generation")
    with pytest.raises(UserInputError, match="steps"):
        example.main(["--quick", "--steps", "0"])
