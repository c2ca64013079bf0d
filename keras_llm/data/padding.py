"""Batches padded to their longest row, not to ``max_length``.

A batch is cut to its longest row rounded up to a multiple of :data:`PAD_MULTIPLE` (never past the
width it was encoded at). Short texts (reviews of a sentence, EWT sentences of ~20 pieces) would
otherwise spend most of the compute on padding; the rounding keeps the number of distinct shapes,
and so of XLA compilations, small (at most ``max_length / PAD_MULTIPLE``). Batch composition is
unchanged, so shuffled orders and exact resume are unaffected.

Example:
    >>> inputs = tokenizer.encode_batch(texts, max_length=128)   # (batch, 128)
    >>> inputs, = trim_to_longest(inputs)                         # (batch, 16) for short texts
"""

import tensorflow as tf

PAD_MULTIPLE = 16
_SEQUENCE_KEYS = ("token_ids", "segment_ids", "padding_mask")


def trim_to_longest(inputs, *extra):
    """Cut the encoder inputs dict (and ``extra`` tensors of the same width, e.g. per-token labels) to the
    batch's longest row rounded up to a multiple of :data:`PAD_MULTIPLE`; returns ``(inputs, *extra)``."""
    longest = tf.maximum(tf.reduce_max(tf.reduce_sum(inputs["padding_mask"], axis=1)), 1)
    width = tf.minimum(tf.shape(inputs["token_ids"])[1], -(-longest // PAD_MULTIPLE) * PAD_MULTIPLE)
    cut = {key: value[:, :width] for key, value in inputs.items() if key in _SEQUENCE_KEYS}
    return (cut, *[value[:, :width] for value in extra])
