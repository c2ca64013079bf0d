"""The LM split and its inverse: a stream that split_train_validation cuts exactly after given ids."""

import numpy as np
import pytest

from keras_llm.data import join_train_validation, split_train_validation


@pytest.mark.parametrize("train_length, valid_length", [(900, 100), (900, 5000), (900, 60), (1000, 111), (7, 3)])
def test_split_of_the_joined_stream_gives_the_training_ids_back(train_length, valid_length):
    train_ids = np.arange(train_length, dtype=np.int32)
    valid_ids = -np.arange(1, valid_length + 1, dtype=np.int32)
    ids, k = join_train_validation(train_ids, valid_ids)
    train_part, valid_part = split_train_validation(ids)
    np.testing.assert_array_equal(train_part, train_ids)
    assert len(valid_part) == k and set(valid_part) <= set(valid_ids)
    if valid_length >= k:
        np.testing.assert_array_equal(valid_part, valid_ids[:k])


def test_the_longest_validation_prefix_is_kept():
    ids, k = join_train_validation(np.arange(900), np.arange(200))
    assert k == 101 and len(split_train_validation(np.concatenate([ids, [0]]))[0]) == 901
