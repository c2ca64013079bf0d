"""Character ids of each word, placed at the word's first word piece, as TensorFlow ops (tf.data and SavedModels).

A character's id is ``1 + codepoint mod (char_vocab_size - 1)``: no vocabulary to store or ship,
every character of Latin-1 and most of Latin Extended gets an id of its own with the default 512
ids, and rarer scripts share ids. Case is kept (a capital is a strong hint of a proper noun).
A word keeps its first ``max_word_chars`` characters; longer words (URLs, e-mail addresses)
lose their tail. Id 0 pads.
"""

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class CharSpec:
    """How words become character ids: ``max_word_chars`` per word, ids below ``char_vocab_size``.

    Any object with these two attributes will do where a spec is asked for, e.g. a model's
    :class:`~keras_llm.layers.char_features.CharCNNWordFeatures` layer.
    """

    max_word_chars: int = 20
    char_vocab_size: int = 512


def char_ids_of(words, spec):
    """Character ids of each word.

    Args:
        words: ``tf.string`` ``(words,)`` (UTF-8; invalid bytes read as U+FFFD).
        spec: a :class:`CharSpec`.

    Returns:
        int32 ``(words, spec.max_word_chars)``, padded with 0.

    Example:
        >>> char_ids_of(tf.constant(["Hi"]), CharSpec(max_word_chars=4)).numpy()
        array([[ 73, 106,   0,   0]], dtype=int32)
    """
    codepoints = tf.strings.unicode_decode(words, "UTF-8", errors="replace", replacement_char=0xFFFD)
    ids = 1 + tf.math.floormod(codepoints[:, :spec.max_word_chars], spec.char_vocab_size - 1)
    return tf.cast(ids.to_tensor(0, shape=[None, spec.max_word_chars]), tf.int32)


def char_ids_at_first_pieces(words, first_piece, word_mask, width, spec):
    """Each word's character ids at the position of its first word piece; zeros everywhere else.

    Args:
        words: ragged ``tf.string`` ``(batch, words)``.
        first_piece: ragged int ``(batch, words)``: each word's first-piece position
            (:func:`keras_llm.data.token_alignment.align_words`).
        word_mask: ragged int ``(batch, words)``: 1 where the word fits into the sequence.
        width: the sequence length of the encoded batch.
        spec: a :class:`CharSpec`.

    Returns:
        int32 ``(batch, width, spec.max_word_chars)``.
    """
    keep = tf.cast(word_mask.flat_values, tf.bool)
    rows = tf.boolean_mask(tf.cast(words.value_rowids(), tf.int32), keep)
    positions = tf.boolean_mask(tf.cast(first_piece.flat_values, tf.int32), keep)
    chars = char_ids_of(tf.boolean_mask(words.flat_values, keep), spec)
    shape = tf.stack([tf.cast(words.nrows(), tf.int32), tf.cast(width, tf.int32), spec.max_word_chars])
    return tf.scatter_nd(tf.stack([rows, positions], axis=1), chars, shape)
