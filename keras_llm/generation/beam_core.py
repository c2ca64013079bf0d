"""The one beam search: a ``tf.while_loop`` of fixed shapes around a model-specific step function.

Each input row keeps ``num_beams`` live hypotheses ("alive") and the ``num_beams`` best
completed ones ("finished"). Every step scores all ``num_beams * vocab`` one-token
extensions of the alive beams. Those that end (a stop token, or the ``max_new_tokens``-th
token) are offered to the finished set, which keeps its best ``num_beams``; the best
``num_beams`` of the others become the new alive beams. The model's cache holds one row per
beam and is reordered with ``tf.gather`` whenever beams are re-chosen. A row stops early only
when no alive beam can still enter its finished set, so stopping never changes the result
(up to exact score ties).

Scoring:
    ``score`` is the sum of the log-probabilities of the hypothesis's scored tokens, a stop
    token included. Finished hypotheses are ranked by ``score / L ** length_penalty``, where
    ``L`` is the number of scored tokens (the generated tokens, plus one for the stop token if
    the hypothesis ended with one). ``length_penalty=0`` ranks by the raw sum (favours short
    outputs), ``1`` by the mean log-probability per token. (GNMT's ``((5 + L) / 6) ** alpha``
    is not used.)

The model-specific parts are a step function (GPT: :mod:`~keras_llm.generation.beam_search`;
encoder–decoder: :mod:`~keras_llm.generation.seq2seq_search`) and where each row starts.
"""

import collections

import tensorflow as tf

from keras_llm.errors import UserInputError

NEG_INF = float("-inf")

# Fixed for one search: beams per row, new tokens, vocabulary size, length penalty, stop mask.
_Setting = collections.namedtuple("_Setting", "num_beams new vocab alpha stop_mask")


def beam_sizes(options):
    """``(num_beams, max_new_tokens)`` of ``options`` as Python ints: they fix the search's shapes."""
    sizes = (options.num_beams, options.max_new_tokens)
    if any(size is None or tf.is_tensor(size) for size in sizes):
        raise UserInputError(f"beam search needs Python ints num_beams and max_new_tokens; got {sizes}")
    return int(sizes[0]), int(sizes[1])


def beam_search(step, cache, first_tokens, row_starts, options, stop_ids, vocab_size):
    """The best of ``options.num_beams`` beams of each row, by length-normalized log-probability.

    Args:
        step: ``(t, tokens, cache) -> (log_probs, cache)``: the model's next-token log-probs
            ``(batch * num_beams, vocab_size)`` after feeding ``tokens`` ``(batch * num_beams,)``
            (the tokens chosen at ``t - 1``, or ``first_tokens``) at loop counter ``t``.
        cache: the model's cache, a nest of tensors with ``batch * num_beams`` rows first
            (beam-major within a row); rows are re-gathered whenever beams are re-chosen.
        first_tokens: int32 ``(batch * num_beams,)``, the tokens fed at the first step.
        row_starts: int32 ``(batch,)``, the counter ``t`` at which each row picks its first new
            token (GPT: its prompt length; encoder–decoder: 0). ``t`` runs from the smallest
            start to the largest plus ``max_new_tokens``.
        options: :class:`~keras_llm.generation.options.DecodingOptions`: ``num_beams`` and
            ``max_new_tokens`` (Python ints), ``length_penalty`` (float or scalar tensor).
        stop_ids: int32 ``(num_stop,)``; a hypothesis ends at a stop token (scored, not emitted).
        vocab_size: int, the width of the log-probs.

    Returns:
        ``(best_ids, best_lengths, best_scores)``: int32 ``(batch, max_new_tokens)`` padded with
        0, int32 ``(batch,)`` counts of emitted tokens, float32 ``(batch,)`` ranking scores.

    Example:
        >>> ids, lengths, scores = beam_search(step, cache, first, tf.zeros([2], tf.int32), options, [3], 100)
    """
    num_beams, new = beam_sizes(options)
    stop_ids = tf.cast(stop_ids, tf.int32)
    # Whether each (beam, token) extension is a stop token, in the flat beam * vocab + token order.
    stop_mask = tf.tile(tf.reduce_any(tf.range(vocab_size)[:, tf.newaxis] == stop_ids[tf.newaxis, :], axis=1),
                        [num_beams])
    setting = _Setting(num_beams, new, vocab_size, tf.cast(options.length_penalty, tf.float32), stop_mask)
    row_starts = tf.cast(row_starts, tf.int32)
    batch = tf.shape(row_starts)[0]

    def body(t, last_token, cache, beams, finished):
        log_probs, cache = step(t, last_token, cache)
        log_probs = tf.reshape(log_probs, (batch, num_beams * vocab_size))
        steps = t - row_starts  # index of the token chosen now, per row
        active = (steps >= 0) & ~finished
        chosen, parent, token, row_done = _extend(beams, log_probs, steps, setting)
        beams = tf.nest.map_structure(lambda new, old: _where_rows(active, new, old), chosen, beams)
        parent = _where_rows(active, parent, tf.range(num_beams)[tf.newaxis, :])
        rows = tf.reshape(tf.range(batch)[:, tf.newaxis] * num_beams + parent, [-1])
        cache = tf.nest.map_structure(lambda c: tf.gather(c, rows, axis=0), cache)
        last_token = tf.where(tf.repeat(active, num_beams), tf.reshape(token, [-1]), last_token)
        return t + 1, last_token, cache, beams, finished | (active & row_done)

    end = tf.reduce_max(row_starts) + new

    def cond(t, last_token, cache, beams, finished):
        return (t < end) & ~tf.reduce_all(finished)

    state = (tf.reduce_min(row_starts), tf.cast(first_tokens, tf.int32), cache, _first_beams(batch, setting),
             tf.zeros((batch,), tf.bool))
    _, _, _, beams, _ = tf.while_loop(cond, keeping_shapes(body), state)
    _, _, done_scores, done_ids, done_lengths = beams
    return done_ids[:, 0], done_lengths[:, 0], done_scores[:, 0]


def _first_beams(batch, setting):
    """``(alive_scores, alive_ids, done_scores, done_ids, done_lengths)`` before the first step."""
    num_beams, new = setting.num_beams, setting.new
    # Only beam 0 is real at first; -inf keeps its identical copies from being expanded too.
    alive_scores = tf.concat([tf.zeros((batch, 1)), tf.fill((batch, num_beams - 1), NEG_INF)], axis=1)
    return (alive_scores, tf.zeros((batch, num_beams, new), tf.int32), tf.fill((batch, num_beams), NEG_INF),
            tf.zeros((batch, num_beams, new), tf.int32), tf.zeros((batch, num_beams), tf.int32))


def _extend(beams, log_probs, steps, setting):
    """One step of every row: the next alive beams, the updated finished set, and whether a row is done.

    Returns ``(beams, parent, token, row_done)``: ``parent``/``token`` ``(batch, num_beams)`` are
    the alive beams each new one extends and the token it adds.
    """
    alive_scores, alive_ids, done_scores, done_ids, done_lengths = beams
    num_beams, new, vocab, alpha, stop_mask = setting
    candidates = tf.repeat(alive_scores, vocab, axis=1) + log_probs  # index = beam * vocab + token
    ends = stop_mask[tf.newaxis, :] | (steps == new - 1)[:, tf.newaxis]

    # The best non-ending extensions go on; the best ending ones are offered to the finished set.
    next_alive, pick = tf.math.top_k(tf.where(ends, NEG_INF, candidates), num_beams)
    parent, token = pick // vocab, pick % vocab
    next_alive_ids = tf.gather(alive_ids, parent, batch_dims=1) + _write_at(steps, new, token)

    ended, pick = tf.math.top_k(tf.where(ends, candidates, NEG_INF), num_beams)
    is_stop = tf.gather(stop_mask, pick % vocab)
    emitted = tf.where(is_stop, 0, pick % vocab)  # stop tokens are scored, not emitted
    ended_ids = tf.gather(alive_ids, pick // vocab, batch_dims=1) + _write_at(steps, new, emitted)
    scored = tf.cast(tf.maximum(steps + 1, 1), tf.float32)[:, tf.newaxis]  # L; max() guards rows not started
    ranked = ended / scored**alpha
    lengths = tf.where(is_stop, steps[:, tf.newaxis], steps[:, tf.newaxis] + 1)

    next_done, merge = tf.math.top_k(tf.concat([done_scores, ranked], axis=1), num_beams)
    next_done_ids = tf.gather(tf.concat([done_ids, ended_ids], axis=1), merge, batch_dims=1)
    next_done_lengths = tf.gather(tf.concat([done_lengths, lengths], axis=1), merge, batch_dims=1)

    # A row may stop when no alive beam can still enter its finished set: later scores only
    # fall (log-probs <= 0), and L ranges over step + 2 .. new.
    later = tf.cast(steps + 2, tf.float32)
    bound = next_alive[:, 0] / tf.maximum(later**alpha, tf.cast(new, tf.float32) ** alpha)
    row_done = (steps + 1 >= new) | (bound <= next_done[:, -1])
    return (next_alive, next_alive_ids, next_done, next_done_ids, next_done_lengths), parent, token, row_done


def _write_at(steps, length, tokens):
    """``(batch, beams, length)`` zeros with ``tokens`` at index ``steps[row]`` (none if out of range)."""
    return tf.one_hot(steps, length, dtype=tf.int32)[:, tf.newaxis, :] * tokens[..., tf.newaxis]


def _where_rows(rows, new, old):
    """``new`` in the rows (first axis) where ``rows`` is True, else ``old``."""
    return tf.where(tf.reshape(rows, [-1] + [1] * (new.shape.rank - 1)), new, old)


def keeping_shapes(body):
    """``body`` with each output given its input's static shape: gathers by computed indices lose
    static sizes (e.g. the batch), and ``tf.while_loop`` needs them fixed."""
    def wrapped(*state):
        return tf.nest.map_structure(lambda new, old: tf.ensure_shape(new, old.shape), body(*state), state)
    return wrapped
