"""Character-level word features: a char CNN over each word's characters, max-pooled to one vector per position.

A tagger that sees only word pieces tags an unknown word from its pieces alone; the characters
show its shape (a capital letter, digits, a hyphen, an ``-ly`` or ``-ing`` ending), which is
most of what a POS tagger needs for a word it has never seen.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_llm")
class CharCNNWordFeatures(keras.layers.Layer):
    """Embed each character, convolve along the word, max-pool over the word's characters.

    Character id 0 is padding: it is left out of the pooling, and a position with no characters
    at all (a word's non-first pieces, ``[CLS]``, padding) gets a zero vector.

    Args:
        char_vocab_size: number of character ids (0 = padding).
        char_dim: width of a character embedding.
        filters: number of convolution filters (the output width).
        kernel_size: characters seen by one filter.
        max_word_chars: characters kept per word (the last axis of the input).

    Call arguments:
        char_ids: int ``(batch, seq_len, max_word_chars)``.

    Returns:
        float ``(batch, seq_len, filters)``.

    Example:
        >>> layer = CharCNNWordFeatures(char_vocab_size=64, char_dim=8, filters=16, max_word_chars=6)
        >>> layer(keras.ops.array([[[5, 9, 2, 0, 0, 0], [0, 0, 0, 0, 0, 0]]])).shape
        (1, 2, 16)
    """

    def __init__(self, char_vocab_size=512, char_dim=32, filters=64, kernel_size=3, max_word_chars=20, **kwargs):
        super().__init__(**kwargs)
        self.char_vocab_size = int(char_vocab_size)
        self.char_dim = int(char_dim)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.max_word_chars = int(max_word_chars)
        self.embedding = keras.layers.Embedding(self.char_vocab_size, self.char_dim, dtype=self.dtype_policy,
                                                name="char_embedding")
        self.convolution = keras.layers.Conv1D(self.filters, self.kernel_size, padding="same", activation="relu",
                                               dtype=self.dtype_policy, name="char_convolution")

    def build(self, input_shape):
        self.embedding.build((None, self.max_word_chars))
        self.convolution.build((None, self.max_word_chars, self.char_dim))
        self.built = True

    def call(self, char_ids):
        shape = ops.shape(char_ids)
        flat = ops.reshape(char_ids, (-1, self.max_word_chars))  # one row per (sentence, position)
        features = self.convolution(self.embedding(flat))  # (rows, chars, filters), ReLU so ≥ 0
        # Padding characters must not win the max; ReLU outputs are ≥ 0, so zeroing them is enough,
        # and a row of padding only pools to exactly 0.
        real = ops.cast(ops.expand_dims(flat > 0, -1), features.dtype)
        pooled = ops.max(features * real, axis=1)
        return ops.reshape(pooled, (shape[0], shape[1], self.filters))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], self.filters)

    def get_config(self):
        return {**super().get_config(), "char_vocab_size": self.char_vocab_size, "char_dim": self.char_dim,
                "filters": self.filters, "kernel_size": self.kernel_size, "max_word_chars": self.max_word_chars}
