"""Baseline classifier fit loops: the bag-of-n-grams and word-id loops learn a separable toy task."""

import numpy as np
import pytest
import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.models import BagOfWordsConfig, bag_of_ngrams_vectorizer, build_bag_of_words_classifier
from keras_llm.models.rnn import build_rnn_classifier
from keras_llm.training.baseline_classifiers import (
    BaselineTrainingConfig,
    bag_of_ngrams_dataset,
    train_bag_of_words_classifier,
    train_word_id_classifier,
)

TEXTS = ["great film", "loved it", "great fun", "awful film", "hated it", "awful mess"] * 4
LABELS = np.array([1, 1, 1, 0, 0, 0] * 4, np.int32)


def test_bag_of_words_loop_learns_and_the_dataset_batches_features():
    config = BagOfWordsConfig(num_classes=2)
    vectorizer = bag_of_ngrams_vectorizer(config, TEXTS)
    model = build_bag_of_words_classifier(config, vectorizer.vocabulary_size())
    training = BaselineTrainingConfig(epochs=15, batch_size=8, learning_rate=5e-2, patience=15, jit_compile=False)
    history = train_bag_of_words_classifier(model, vectorizer, (TEXTS, LABELS), (TEXTS, LABELS), training)
    assert len(history.history["loss"]) == 15 and history.history["val_accuracy"][-1] == 1.0
    features, labels = next(iter(bag_of_ngrams_dataset(vectorizer, TEXTS, LABELS, 8)))
    assert features.shape == (8, vectorizer.vocabulary_size()) and labels.dtype == tf.int32


def test_word_id_loop_fits_id_arrays_with_validation():
    ids = np.array([[1, 2], [3, 4], [1, 5], [6, 2], [7, 4], [6, 8]] * 4, np.int32)
    model = build_rnn_classifier(9, 2, cell="gru", bidirectional=False, units=8, embedding_dim=8)
    training = BaselineTrainingConfig(epochs=4, batch_size=8, patience=1, jit_compile=False)
    history = train_word_id_classifier(model, (ids, LABELS), (ids, LABELS), training)
    assert 1 <= len(history.history["loss"]) <= 4 and "val_accuracy" in history.history


@pytest.mark.parametrize("values, message", [({"epochs": 0}, "epochs"), ({"learning_rate": 0.0}, "learning-rate")])
def test_bad_config_is_refused(values, message):
    with pytest.raises(UserInputError, match=message):
        BaselineTrainingConfig(**values)
