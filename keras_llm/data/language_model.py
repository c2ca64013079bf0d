"""Language-model windows from one long stream of token ids, as tf.data pipelines.

Follows nanoGPT: the first 90% of the stream trains, the last 10% validates (split by
position, not at random, so validation text is unseen text; :func:`join_train_validation`
undoes the split), and each training example
is a random window of ``sequence_length + 1`` tokens (inputs and next-token targets).
"""

import numpy as np
import tensorflow as tf

from keras_llm.errors import UserInputError

TRAIN_FRACTION = 0.9  # nanoGPT's split, and the one train_language_model makes


def _check_fraction(train_fraction):
    if not 0.0 < train_fraction < 1.0:
        raise UserInputError(f"train fraction must be in (0, 1); got {train_fraction}")


def split_train_validation(token_ids, train_fraction=TRAIN_FRACTION):
    """Split a 1-D id array by position into (train, validation)."""
    token_ids = np.asarray(token_ids, dtype=np.int32)
    _check_fraction(train_fraction)
    cut = int(len(token_ids) * train_fraction)
    return token_ids[:cut], token_ids[cut:]


def join_train_validation(train_ids, valid_ids, train_fraction=TRAIN_FRACTION):
    """The inverse of :func:`split_train_validation`: one stream that it splits back into ``train_ids``.

    For callers that split a corpus themselves but hand one stream to a trainer that splits
    again (``train_language_model``): the stream is ``train_ids`` followed by the longest prefix
    of ``valid_ids`` that keeps the cut exactly after ``train_ids``; a ``valid_ids`` shorter than
    the shortest such prefix is repeated.

    Returns:
        ``(stream, k)``: int32 ids, and the length of its validation part.

    Example:
        >>> stream, k = join_train_validation(np.arange(900), np.arange(200))
        >>> split_train_validation(stream)[0].shape, k
        ((900,), 101)
    """
    _check_fraction(train_fraction)
    train_ids, valid_ids = np.asarray(train_ids, np.int32), np.asarray(valid_ids, np.int32)
    a = len(train_ids)
    # Stream lengths n with int(n * fraction) == a lie within a few ids of a / fraction (round-off aside).
    guess = int(a / train_fraction)
    lengths = [n for n in range(max(a, guess - 3), guess + 4) if int(n * train_fraction) == a]
    k_min, k_max = lengths[0] - a, lengths[-1] - a
    valid_part = valid_ids[:min(len(valid_ids), k_max)] if len(valid_ids) >= k_min else np.resize(valid_ids, k_min)
    stream = np.concatenate([train_ids, valid_part]).astype(np.int32)
    check_train, check_valid = split_train_validation(stream, train_fraction)
    assert np.array_equal(check_train, train_ids) and np.array_equal(check_valid, valid_part)
    return stream, len(valid_part)


def _check_length(token_ids, sequence_length, what):
    if len(token_ids) < sequence_length + 1:
        raise UserInputError(
            f"the {what} split has {len(token_ids)} tokens, fewer than one window of "
            f"sequence_length + 1 = {sequence_length + 1}; use a longer corpus or a shorter context")


def _windows(token_ids, offsets, sequence_length):
    stream = tf.constant(token_ids, dtype=tf.int32)

    def window(offset):
        chunk = stream[offset:offset + sequence_length + 1]
        return chunk[:-1], chunk[1:]

    return offsets.map(window, num_parallel_calls=tf.data.AUTOTUNE)


def language_model_dataset(token_ids, sequence_length, batch_size, seed=None):
    """Endless batches of random windows: ``((batch, seq_len) inputs, (batch, seq_len) targets)``.

    Args:
        token_ids: 1-D int array (the training split).
        sequence_length: context length.
        batch_size: windows per batch.
        seed: makes the window order reproducible.

    Example:
        >>> ds = language_model_dataset(np.arange(1000), sequence_length=8, batch_size=4, seed=0)
        >>> x, y = next(iter(ds))   # y[:, t] == x[:, t] + 1 here
    """
    if batch_size <= 0 or sequence_length <= 0:
        raise UserInputError(f"batch size and sequence length must be positive; got {batch_size}, {sequence_length}")
    _check_length(token_ids, sequence_length, "training")
    num_offsets = len(token_ids) - sequence_length
    offsets = tf.data.Dataset.random(seed=seed).map(lambda r: tf.cast(r % num_offsets, tf.int32))
    return _windows(token_ids, offsets, sequence_length).batch(batch_size, drop_remainder=True).prefetch(
        tf.data.AUTOTUNE)


def validation_dataset(token_ids, sequence_length, batch_size, num_batches, seed=1337):
    """A fixed set of ``num_batches`` random windows (the same at every evaluation)."""
    _check_length(token_ids, sequence_length, "validation")
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, len(token_ids) - sequence_length, size=num_batches * batch_size)
    offsets = tf.data.Dataset.from_tensor_slices(offsets.astype(np.int32))
    return _windows(token_ids, offsets, sequence_length).batch(batch_size).cache().prefetch(tf.data.AUTOTUNE)
