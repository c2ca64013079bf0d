"""Constraints on an encoder–decoder's next token: a minimum length and no repeated n-grams.

Both act on the next-token log-probabilities of every row (a greedy row or a beam) before the
token is chosen, with fixed shapes, so they work in the cached ``tf.while_loop`` eagerly, traced
and under XLA. A row's history is int32 ``(rows, max_new_tokens + 1)``: the start token at index
0 and the token chosen at step ``t`` at index ``t + 1``; at step ``t`` indices ``0..t`` are known.

Example:
    >>> log_probs = constrain(log_probs, step, history, end_id, min_new_tokens=5, no_repeat_ngram_size=3)
"""

import tensorflow as tf

NEG_INF = float("-inf")


def repeated_ngram_bans(history, known, n, vocab_size):
    """Bool ``(rows, vocab_size)``: the tokens that would complete an ``n``-gram already in a row.

    Args:
        history: int32 ``(rows, length)`` token ids, of which the first ``known`` are real.
        known: scalar int32, the number of known tokens (step + 1).
        n: Python int ≥ 1.
        vocab_size: Python int or scalar.

    Example:
        >>> repeated_ngram_bans(tf.constant([[2, 7, 8, 7, 0]]), tf.constant(4), 2, 10)[0, 8]   # 7 8 ... 7 → 8 banned
        <tf.Tensor: shape=(), dtype=bool, numpy=True>
    """
    rows, length = tf.shape(history)[0], history.shape[1]
    starts = length - n + 1  # static: one candidate n-gram per start position
    if starts <= 0:
        return tf.zeros((rows, vocab_size), tf.bool)
    windows = [history[:, k:k + starts] for k in range(n)]  # windows[k][:, j] = history[:, j + k]
    # An n-gram starting at j is complete (its last token known) when j + n - 1 < known.
    match = tf.broadcast_to(tf.range(starts)[tf.newaxis, :] <= known - n, (rows, starts))
    for k in range(n - 1):
        # The current tail's k-th token: index known - n + 1 + k (clipped; rows too short never match).
        tail = tf.gather(history, tf.maximum(known - n + 1 + k, 0), axis=1)
        match &= tf.equal(windows[k], tail[:, tf.newaxis])
    row_ids = tf.broadcast_to(tf.range(rows)[:, tf.newaxis], (rows, starts))
    indices = tf.stack([row_ids, windows[n - 1]], axis=-1)
    banned = tf.tensor_scatter_nd_max(tf.zeros((rows, vocab_size), tf.int32), indices, tf.cast(match, tf.int32))
    return banned > 0


def constrain(log_probs, step, history, end_id, min_new_tokens=0, no_repeat_ngram_size=0):
    """``log_probs`` ``(rows, vocab)`` with barred tokens set to -inf.

    The end token is barred while ``step < min_new_tokens``; with ``no_repeat_ngram_size`` n > 0,
    every token that would repeat an n-gram of the row's history (:func:`repeated_ngram_bans`).
    ``min_new_tokens`` and ``no_repeat_ngram_size`` are Python ints (0 = off).
    """
    vocab_size = tf.shape(log_probs)[-1]
    if min_new_tokens:
        early = tf.cast(step, tf.int32) < min_new_tokens
        log_probs = tf.where(early & tf.equal(tf.range(vocab_size), end_id)[tf.newaxis, :], NEG_INF, log_probs)
    if no_repeat_ngram_size:
        banned = repeated_ngram_bans(history, tf.cast(step, tf.int32) + 1, no_repeat_ngram_size, vocab_size)
        log_probs = tf.where(banned, NEG_INF, log_probs)
    return log_probs
