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
from keras_llm.data.word_characters import char_ids_at_first_pieces

MODEL_KEYS = ("token_ids", "segment_ids", "padding_mask")


def tagger_inputs(tokenizer, words, max_length, char_spec=None, tag_ids=None):
    """Model inputs of pre-split words, cut to the batch's longest row (rounded up to 16 pieces).

    Args:
        tokenizer: a WordPiece tokenizer.
        words: ragged ``tf.string`` ``(batch, words)``.
        max_length: longest sequence (pieces + 2).
        char_spec: a :class:`~keras_llm.data.word_characters.CharSpec` when the model reads
            character ids (``char_ids``), else ``None``.
        tag_ids: optional ragged int ``(batch, words)``.

    Returns:
        ``(inputs, labels, aligned)``: the model's input dict (int32 ``(batch, width)``; with
        ``char_spec`` also ``char_ids`` ``(batch, width, max_word_chars)``), the labels
        ``(batch, width)`` (``None`` without ``tag_ids``) and the full
        :func:`~keras_llm.data.token_alignment.align_words` output (``first_piece``, ``word_mask``).
    """
    aligned = align_words(tokenizer, words, max_length, tag_ids)
    extra = [aligned["labels"]] if tag_ids is not None else []
    if char_spec is not None:
        width = tf.shape(aligned["token_ids"])[1]
        extra.append(char_ids_at_first_pieces(words, aligned["first_piece"], aligned["word_mask"], width, char_spec))
    inputs, *rest = trim_to_longest({key: aligned[key] for key in MODEL_KEYS}, *extra)
    if char_spec is not None:
        inputs["char_ids"] = rest.pop()
    return inputs, (rest[0] if rest else None), aligned


def tagging_dataset(tokenizer, words, tag_ids, max_length, batch_size, shuffle=False, seed=0, epochs=1,
                    char_spec=None):
    """Batches of ``(inputs dict, labels)`` for ``model.fit``.

    Args:
        tokenizer: a WordPiece tokenizer.
        words: list of sentences, each a list of str.
        tag_ids: list of int lists (same shapes as ``words``; -1 = unknown tag, ignored).
        max_length: longest sequence (pieces + 2).
        char_spec: a :class:`~keras_llm.data.word_characters.CharSpec` for a model with
            character features (adds ``char_ids`` to the inputs), else ``None``.
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
        inputs, labels, _ = tagger_inputs(tokenizer, batch_words, max_length, char_spec, batch_tags)
        return inputs, labels

    if shuffle:
        data = tf.data.Dataset.from_tensor_slices(epoch_orders(len(words), seed, epochs)).flat_map(
            lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
        data = data.map(lambda index: (tf.gather(all_words, index), tf.gather(all_tags, index)))
    else:
        data = tf.data.Dataset.from_tensor_slices((all_words, all_tags)).ragged_batch(batch_size)
    return data.map(encode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
