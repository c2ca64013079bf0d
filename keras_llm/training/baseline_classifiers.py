"""Fit loops of the baseline text classifiers: bag-of-n-grams and RNNs over word ids.

Both train with Adam at a fixed rate and sparse cross-entropy on logits, for at most
``config.epochs`` epochs with early stopping on the validation loss (best weights restored). No
run directory: these baselines train in seconds to minutes, next to the fine-tuned models of
:mod:`keras_llm.training.classifier` (whose loop adds AdamW, a schedule, checkpoints and resume).
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from keras_llm.checks import positive_int
from keras_llm.errors import UserInputError


@dataclasses.dataclass
class BaselineTrainingConfig:
    """How a baseline classifier trains.

    Args:
        epochs: the most epochs (early stopping may end the run sooner).
        batch_size: examples per batch.
        learning_rate: Adam's (constant) rate.
        patience: epochs without a better validation loss before stopping.
        seed: order of the bag-of-n-grams batches (Keras shuffles arrays from its global seed).
        jit_compile: XLA for the training step.
    """

    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 2
    seed: int = 1337
    jit_compile: bool = True

    def __post_init__(self):
        for name in ("epochs", "batch_size", "patience"):
            positive_int(name.replace("_", "-"), getattr(self, name))
        if self.learning_rate <= 0:
            raise UserInputError(f"learning-rate must be positive; got {self.learning_rate}")


def _compile(model, config):
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")], jit_compile=config.jit_compile)


def _early_stopping(config):
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)


def bag_of_ngrams_dataset(vectorizer, texts, label_ids, batch_size, shuffle=False, seed=None):
    """Batches of ``(features (batch, vocabulary_size), label ids (batch,))``; features computed in tf.data.

    With ``shuffle``, every pass over the dataset draws a new order (from ``seed``).
    """
    data = tf.data.Dataset.from_tensor_slices((tf.constant(list(texts), tf.string), np.asarray(label_ids)))
    if shuffle:
        data = data.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).map(lambda text, label: (vectorizer(text), label)).prefetch(tf.data.AUTOTUNE)


def train_bag_of_words_classifier(model, vectorizer, train, valid, config, verbose=0):
    """Fit a :func:`~keras_llm.models.bag_of_words.build_bag_of_words_classifier` model.

    Args:
        model: features ``(batch, vocabulary_size)`` → logits ``(batch, num_classes)``, uncompiled.
        vectorizer: the adapted ``TextVectorization`` whose features ``model`` reads.
        train, valid: ``(texts, label_ids)``.
        config: a :class:`BaselineTrainingConfig`.
        verbose: Keras ``fit`` verbosity.

    Returns:
        the Keras ``History``.
    """
    _compile(model, config)
    train_data = bag_of_ngrams_dataset(vectorizer, *train, config.batch_size, shuffle=True, seed=config.seed)
    valid_data = bag_of_ngrams_dataset(vectorizer, *valid, config.batch_size)
    return model.fit(train_data, validation_data=valid_data, epochs=config.epochs,
                     callbacks=[_early_stopping(config)], verbose=verbose, shuffle=False)  # the dataset shuffles


def train_word_id_classifier(model, train, valid, config, verbose=0):
    """Fit a classifier over padded id arrays (e.g. :func:`~keras_llm.models.rnn.build_rnn_classifier`).

    Args:
        model: int ids ``(batch, seq_len)`` → logits ``(batch, num_classes)``, uncompiled.
        train, valid: ``(ids (n, seq_len), label_ids (n,))`` numpy arrays.
        config: a :class:`BaselineTrainingConfig`.
        verbose: Keras ``fit`` verbosity.

    Returns:
        the Keras ``History``.
    """
    _compile(model, config)
    return model.fit(*train, validation_data=valid, epochs=config.epochs, batch_size=config.batch_size,
                     callbacks=[_early_stopping(config)], verbose=verbose)
