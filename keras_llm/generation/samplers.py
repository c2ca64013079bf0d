"""Next-token selection: greedy, temperature, top-k and top-p (nucleus), XLA-friendly.

Everything here is TensorFlow ops with shapes fixed by the logits, and ``k``/``p`` may be
tensors, so one compiled decoding loop serves every sampling setting.
"""

import tensorflow as tf


def filter_logits(logits, top_k=0, top_p=1.0):
    """Set logits outside the top-k / top-p support to -inf.

    Args:
        logits: float ``(batch, vocab_size)``.
        top_k: keep the ``k`` most likely tokens; 0 keeps all.
        top_p: then keep the smallest set of most likely tokens whose probability
            (renormalised after top-k, as in Holtzman et al. and Hugging Face) reaches
            ``top_p``; 1.0 keeps all. The most likely token is always kept.

    Returns:
        ``(batch, vocab_size)`` logits, -inf outside the support.
    """
    logits = tf.convert_to_tensor(logits, tf.float32)
    vocab_size = tf.shape(logits)[-1]
    top_k = tf.convert_to_tensor(top_k, tf.int32)
    top_p = tf.convert_to_tensor(top_p, tf.float32)
    k = tf.where(top_k > 0, tf.minimum(top_k, vocab_size), vocab_size)
    sorted_logits = tf.sort(logits, axis=-1, direction="DESCENDING")
    ranks = tf.range(vocab_size)[tf.newaxis, :]
    sorted_logits = tf.where(ranks < k, sorted_logits, float("-inf"))
    mass_before = tf.math.cumsum(tf.nn.softmax(sorted_logits, axis=-1), axis=-1, exclusive=True)
    keep = tf.logical_and(ranks < k, mass_before < top_p)
    keep = tf.logical_or(keep, ranks == 0)
    num_kept = tf.reduce_sum(tf.cast(keep, tf.int32), axis=-1)
    threshold = tf.gather(sorted_logits, num_kept - 1, axis=-1, batch_dims=1)[:, tf.newaxis]
    return tf.where(logits >= threshold, logits, float("-inf"))


def select_next_token(logits, options, seed=(0, 0)):
    """Pick one token per row: the argmax, or a draw from the tempered and filtered distribution.

    Args:
        logits: float ``(batch, vocab_size)``.
        options: a :class:`~keras_llm.generation.options.DecodingOptions`. ``strategy="greedy"``
            takes the argmax (no sampler in the graph); ``"sample"`` divides the logits by
            ``temperature`` and draws from the ``top_k`` / ``top_p`` support (see
            :func:`filter_logits`). Its numbers may be scalar tensors.
        seed: shape ``(2,)`` int seed of this draw (stateless: the same seed gives the same token).

    Returns:
        int32 ``(batch,)``.

    Example:
        >>> select_next_token(logits, DecodingOptions(strategy="sample", top_k=10), seed=(1, 0))
    """
    logits = tf.cast(logits, tf.float32)
    if options.greedy:
        return tf.argmax(logits, axis=-1, output_type=tf.int32)
    temperature = tf.convert_to_tensor(options.temperature, tf.float32)
    # The floor only guards a traced temperature (exports); Python values are checked to be > 0.
    scaled = filter_logits(logits / tf.maximum(temperature, 1e-6), options.top_k, options.top_p)
    return tf.random.stateless_categorical(scaled, 1, seed=tf.cast(seed, tf.int32), dtype=tf.int32)[:, 0]
