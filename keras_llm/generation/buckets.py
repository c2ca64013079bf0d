"""Static shape buckets: a few fixed sizes that every request is rounded up to.

XLA compiles a function once per input shape, so a served loop fed every request's own shapes
would compile at almost every request. Rounding each request up to a power of two (capped) keeps
the shapes few: a context of 64 and up to 1024 new tokens give 3 × 7 shapes per batch size, not
64 × 1024.

Example:
    >>> power_of_two_buckets(16, 64)
    [16, 32, 64]
    >>> power_of_two_buckets(16, 100)
    [16, 32, 64, 100]
    >>> bucket_index(tf.constant(33), [16, 32, 64]).numpy()
    2
"""

import tensorflow as tf


def power_of_two_buckets(smallest, cap):
    """``[smallest, 2·smallest, 4·smallest, ...]`` below ``cap``, then ``cap`` itself (ints ≥ 1)."""
    if cap < 1 or smallest < 1:
        raise ValueError(f"buckets need smallest >= 1 and cap >= 1; got {smallest}, {cap}")
    buckets, size = [], smallest
    while size < cap:
        buckets.append(size)
        size *= 2
    return buckets + [cap]


def bucket_index(value, buckets):
    """int32 scalar: the index of the first bucket ≥ ``value`` (the last bucket for larger values).

    Args:
        value: int scalar tensor (a width or a count).
        buckets: increasing Python ints, as from :func:`power_of_two_buckets`.
    """
    value = tf.cast(value, tf.int32)
    return tf.reduce_sum(tf.cast(tf.constant(buckets[:-1], tf.int32) < value, tf.int32))
