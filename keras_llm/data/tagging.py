"""Tagging input: batches of word-piece ids with per-piece labels (-100 but on each word's first piece).

Batches are cut to their longest row rounded up to a multiple of 16 (at most ``max_length``;
:mod:`keras_llm.data.padding`): EWT sentences average about 20 pieces.

Example:
    >>> data = tagging_dataset(tokenizer, [["John", "lives", "here"]], [[1, 0, 0]], max_length=32, batch_size=8)
    >>> inputs, labels = next(iter(data))      # inputs: dict of int32 (batch, 16); labels: (batch, 16)
"""

import tensorflow as tf

from keras_llm.data.epoch_orders import epoch_orders
from keras_llm.data.padding import PAD_MULTIPLE, trim_to_longest  # noqa: F401  (PAD_MULTIPLE: also its old home)
from keras_llm.data.token_alignment import align_words


def tagging_dataset(tokenizer, words, tag_ids, max_length, batch_size, shuffle=False, seed=0, epochs=1):
    """Batches of ``(inputs dict, labels)`` for ``model.fit``.

    Args:
        tokenizer: a WordPiece tokenizer.
        words: list of sentences, each a list of str.
        tag_ids: list of int lists (same shapes as ``words``; -1 = unknown tag, ignored).
        max_length: longest sequence (pieces + 2).
        shuffle: with ``shuffle``, the stream holds ``epochs`` passes, each in its own order drawn
            from ``seed + epoch`` and each ending with its own (possibly short) batch. Every
            epoch's order is fixed in advance, so a resumed run can skip the finished epochs'
            batches and see exactly the batches an uninterrupted run would have seen.

    Returns:
        ``tf.data.Dataset`` of (dict of int32 ``(batch, width)``, int32 labels ``(batch, width)``).
    """
    all_words = tf.ragged.constant(words, dtype=tf.string)
    all_tags = tf.ragged.constant(tag_ids, dtype=tf.int32)

    def encode(batch_words, batch_tags):
        out = align_words(tokenizer, batch_words, max_length, batch_tags)
        return trim_to_longest(out, out["labels"])

    if shuffle:
        data = tf.data.Dataset.from_tensor_slices(epoch_orders(len(words), seed, epochs)).flat_map(
            lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
        data = data.map(lambda index: (tf.gather(all_words, index), tf.gather(all_tags, index)))
    else:
        data = tf.data.Dataset.from_tensor_slices((all_words, all_tags)).ragged_batch(batch_size)
    return data.map(encode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
