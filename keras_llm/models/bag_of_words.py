"""Bag-of-n-grams text classifier: multinomial logistic regression on TF-IDF n-gram features.

Two pieces, because the features are computed in the input pipeline (string ops run on the
CPU in tf.data, and the model stays an XLA-compilable matrix product):

- :func:`bag_of_ngrams_vectorizer`: a ``keras.layers.TextVectorization`` adapted on the training
  texts (lowercased, punctuation stripped, uni- to ``ngrams``-grams, at most ``max_tokens``).
- :func:`build_bag_of_words_classifier`: one ``Dense`` layer from those features to class logits.
"""

import dataclasses

import keras
import tensorflow as tf

from keras_llm.checks import positive_int
from keras_llm.errors import UserInputError
from keras_llm.models.config import ConfigMixin

OUTPUT_MODES = ("tf_idf", "count", "multi_hot")


@dataclasses.dataclass
class BagOfWordsConfig(ConfigMixin):
    """Hyper-parameters of a bag-of-n-grams classifier.

    Args:
        num_classes: number of output logits.
        max_tokens: the most n-grams in the vocabulary (the most frequent in the training texts).
        ngrams: n-grams of 1 to ``ngrams`` words.
        output_mode: feature values: ``"tf_idf"``, ``"count"`` or ``"multi_hot"``.
    """

    num_classes: int
    max_tokens: int = 20000
    ngrams: int = 2
    output_mode: str = "tf_idf"

    def __post_init__(self):
        for name in ("num_classes", "max_tokens", "ngrams"):
            positive_int(f"BagOfWordsConfig.{name}", getattr(self, name))
        if self.output_mode not in OUTPUT_MODES:
            raise UserInputError(f"BagOfWordsConfig.output_mode must be one of {', '.join(OUTPUT_MODES)}; "
                                 f"got {self.output_mode!r}")


def bag_of_ngrams_vectorizer(config, texts, batch_size=256):
    """A ``TextVectorization`` for ``config``, adapted on ``texts`` (the training texts only).

    Returns:
        the layer: strings ``(batch,)`` → float32 features ``(batch, vocabulary_size())``.

    Example:
        >>> vectorizer = bag_of_ngrams_vectorizer(BagOfWordsConfig(2), ["a good film", "a bad film"])
        >>> vectorizer(tf.constant(["good film"])).shape   # [UNK], 4 words, 4 bigrams
        TensorShape([1, 9])
    """
    vectorizer = keras.layers.TextVectorization(max_tokens=config.max_tokens, ngrams=config.ngrams,
                                                output_mode=config.output_mode)
    vectorizer.adapt(tf.constant(list(texts), tf.string), batch_size=batch_size)
    return vectorizer


def build_bag_of_words_classifier(config, num_features, name="bow_classifier"):
    """Build the classifier on ``num_features`` n-gram features (a vectorizer's ``vocabulary_size()``).

    Args:
        config: a :class:`BagOfWordsConfig`.
        num_features: length of a feature vector.
        name: the model's name.

    Returns:
        ``keras.Model`` mapping float32 features ``(batch, num_features)`` (input ``tf_idf``) to
        float32 logits ``(batch, num_classes)`` (layer ``logits``).

    Example:
        >>> model = build_bag_of_words_classifier(BagOfWordsConfig(num_classes=2), vectorizer.vocabulary_size())
        >>> model(vectorizer(tf.constant(["good film"]))).shape
        TensorShape([1, 2])
    """
    num_features = positive_int("build_bag_of_words_classifier: num_features", num_features)
    features = keras.Input((num_features,), name="tf_idf")
    logits = keras.layers.Dense(config.num_classes, name="logits")(features)
    return keras.Model(features, logits, name=name)
