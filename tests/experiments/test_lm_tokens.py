"""The shared tokens: the 90/10 character split, unknown characters, and the trainer's stream."""

import numpy as np
import pytest

from keras_llm.data import split_train_validation
from keras_llm.errors import UserInputError
from keras_llm.experiments import lm_tokens


def test_split_keeps_every_validation_character():
    text = "abcabc" * 20 + "xyz!"  # the last characters never occur in the training part
    tokenizer, train_ids, valid_ids = lm_tokens.split_and_tokenize(text, "char")
    cut = int(len(text) * 0.9)
    assert len(train_ids) == cut and len(valid_ids) == len(text) - cut
    assert tokenizer.unknown_token_id in valid_ids


def test_the_trainer_resplits_the_stream_at_the_training_ids():
    tokens = lm_tokens.share_tokens("to be or not to be\n" * 30, "char", sequence_length=8)
    train_part, valid_part = split_train_validation(tokens.stream)
    np.testing.assert_array_equal(train_part, tokens.train_ids)
    np.testing.assert_array_equal(valid_part, tokens.trainer_valid_ids)
    np.testing.assert_array_equal(valid_part, tokens.valid_ids[:len(valid_part)])
    with pytest.raises(UserInputError, match="corpus too small"):
        lm_tokens.share_tokens("to be or not to be\n" * 30, "char", sequence_length=200)
