"""RNN LM sampling: seeded, in the vocabulary, greedy at a tiny temperature, bad input refused."""

import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.generation.rnn_sampling import sample_rnn_lm
from keras_llm.models import build_rnn_lm

VOCAB = 17


@pytest.fixture(scope="module")
def model():
    return build_rnn_lm(VOCAB, cell="gru", num_layers=2, units=16, embedding_dim=8)


def test_a_seed_fixes_the_sample(model):
    first = sample_rnn_lm(model, [3, 5], 12, seed=7, temperature=1.0)
    assert first == sample_rnn_lm(model, [3, 5], 12, seed=7, temperature=1.0)
    assert len(first) == 12 and all(isinstance(t, int) and 0 <= t < VOCAB for t in first)


def test_a_tiny_temperature_follows_the_full_model_argmax(model):
    ids = [3, 5]
    sampled = sample_rnn_lm(model, ids, 6, seed=0, temperature=1e-4)
    for token in sampled:  # each step agrees with running the whole sequence through the model
        assert token == int(np.argmax(model(np.array([ids], np.int32))[0, -1]))
        ids.append(token)


@pytest.mark.parametrize("prompt, temperature, message", [([], 1.0, "prompt token"), ([1], 0.0, "temperature")])
def test_bad_input_is_refused(model, prompt, temperature, message):
    with pytest.raises(UserInputError, match=message):
        sample_rnn_lm(model, prompt, 3, temperature=temperature)
