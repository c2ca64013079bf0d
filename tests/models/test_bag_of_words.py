"""Bag-of-n-grams classifier: features from the vectorizer, logits shape, save/load round trip, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.models import BagOfWordsConfig, bag_of_ngrams_vectorizer, build_bag_of_words_classifier

TEXTS = ["a good film", "a bad film", "good acting", "bad acting, bad film"]


@pytest.fixture(scope="module")
def vectorizer():
    return bag_of_ngrams_vectorizer(BagOfWordsConfig(num_classes=3), TEXTS)


def test_features_are_uni_and_bigrams_of_the_training_texts(vectorizer):
    vocabulary = vectorizer.get_vocabulary()
    assert vocabulary[0] == "[UNK]" and {"good", "bad film", "good acting"} <= set(vocabulary)
    features = vectorizer(tf.constant(["good film", "never seen"]))
    assert features.shape == (2, vectorizer.vocabulary_size()) and features.dtype == tf.float32
    assert float(tf.reduce_sum(features[0, 1:])) > 0 and float(tf.reduce_sum(features[1, 1:])) == 0.0


def test_logits_shape_and_keras_round_trip_with_safe_mode(vectorizer, tmp_path, rng):
    model = build_bag_of_words_classifier(BagOfWordsConfig(num_classes=3), vectorizer.vocabulary_size())
    features = vectorizer(tf.constant(TEXTS))
    logits = model(features)
    assert logits.shape == (len(TEXTS), 3) and logits.dtype == "float32"
    assert [layer.name for layer in model.layers] == ["tf_idf", "logits"]
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    path = tmp_path / "bow.keras"
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored(features), model(features), atol=1e-6)


def test_config_round_trips_and_bad_values_are_refused():
    config = BagOfWordsConfig(num_classes=4, max_tokens=100, ngrams=3, output_mode="count")
    assert BagOfWordsConfig.from_dict({**config.__dict__, "extra": 1}) == config
    for values, message in (({"num_classes": 0}, "num_classes"), ({"num_classes": 2, "ngrams": 0}, "ngrams"),
                             ({"num_classes": 2, "output_mode": "int"}, "output_mode")):
        with pytest.raises(UserInputError, match=message):
            BagOfWordsConfig(**values)
    with pytest.raises(UserInputError, match="num_features"):
        build_bag_of_words_classifier(BagOfWordsConfig(num_classes=2), 0)
