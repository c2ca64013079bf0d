"""Perplexity of a causal language model over every token of a text, with strided sliding windows.

A model with a context of ``L`` tokens cannot read a long file in one pass. The standard recipe
(the strided perplexity of Hugging Face's "Perplexity of fixed-length models") slides a window of
``L`` tokens along the text by ``stride`` tokens at a time and, in each window, scores only the
tokens that no earlier window scored. So:

- every token after the first is scored exactly once (the first has no left context, so it is
  never predicted): ``tokens_scored == len(token_ids) - 1``;
- a token in the first window sees all tokens before it; every later one sees at least
  ``L - stride + 1`` tokens of context;
- ``stride == L`` is the plain cut into non-overlapping windows (cheapest, least context);
  ``stride == 1`` gives every token a full window (``L`` times the forward passes).

Window ``k`` reads ``token_ids[k * stride : k * stride + L]`` and predicts the token after each
position; :func:`strided_windows` lists which of those predictions it keeps.

Example:
    >>> nats, count = strided_negative_log_likelihood(model, ids, context_length=64, stride=32)
    >>> language_model_metrics(nats, count, characters_scored=count)["perplexity"]
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf

from keras_llm.errors import UserInputError


@dataclasses.dataclass(frozen=True)
class Window:
    """One model input: ``token_ids[start:stop]``, predicting ``token_ids[start + 1:stop + 1]``;
    the predictions at positions ``first_scored .. stop - start - 1`` are counted."""

    start: int
    stop: int
    first_scored: int


def check_stride(stride, context_length):
    """A stride must be in ``[1, context_length]``: a larger one would skip tokens."""
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise UserInputError(f"stride must be a positive integer; got {stride!r}")
    if stride > context_length:
        raise UserInputError(f"stride {stride} is larger than the model's context of {context_length} tokens "
                             f"(tokens between windows would never be scored); use at most {context_length}")


def strided_windows(num_tokens, context_length, stride):
    """Yield the :class:`Window` s that score tokens ``1 .. num_tokens - 1`` once each.

    Args:
        num_tokens: length of the token sequence (≥ 2).
        context_length: the model's context ``L`` (tokens per window).
        stride: tokens between window starts, ``1 ≤ stride ≤ L``.

    Example:
        >>> list(strided_windows(10, 4, 2))
        [Window(start=0, stop=4, first_scored=0), Window(start=2, stop=6, first_scored=2),
         Window(start=4, stop=8, first_scored=2), Window(start=6, stop=9, first_scored=2)]
    """
    check_stride(stride, context_length)
    if num_tokens < 2:
        raise UserInputError(f"perplexity needs at least 2 tokens; got {num_tokens}")
    last_target = num_tokens - 1
    scored_up_to = 0  # index of the last token predicted so far (token 0 is never a target)
    start = 0
    while scored_up_to < last_target:
        stop = min(start + context_length, last_target)
        # Targets are start+1 .. stop; keep those after scored_up_to (position = target - start - 1).
        yield Window(start, stop, scored_up_to - start)
        scored_up_to = stop
        start += stride


def _window_batches(token_ids, windows, context_length, batch_size):
    """Fixed-shape ``(inputs, labels, scored)`` numpy batches of ``(batch_size, context_length)``: one traced graph.

    Padding rows and positions have ``scored`` False; right padding cannot change a causal model's
    earlier positions.
    """
    inputs = np.zeros((batch_size, context_length), np.int32)
    labels = np.zeros_like(inputs)
    scored = np.zeros((batch_size, context_length), bool)
    row = 0
    for window in windows:
        width = window.stop - window.start
        inputs[row, :width] = token_ids[window.start:window.stop]
        labels[row, :width] = token_ids[window.start + 1:window.stop + 1]
        scored[row, window.first_scored:width] = True
        row += 1
        if row == batch_size:
            yield inputs, labels, scored, row
            inputs, labels, scored, row = np.zeros_like(inputs), np.zeros_like(labels), np.zeros_like(scored), 0
    if row:
        yield inputs, labels, scored, row


def _summed_nll_function(model):
    @tf.function(reduce_retracing=True)
    def summed_nll(inputs, labels, scored):
        # Softmax in float32 also for mixed-precision models (see docs/architecture.md).
        logits = tf.cast(model(inputs, training=False), tf.float32)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return tf.reduce_sum(tf.where(scored, nll, 0.0), axis=1)

    return summed_nll


def count_windows(num_tokens, context_length, stride):
    """How many windows :func:`strided_windows` yields (for a progress bar)."""
    check_stride(stride, context_length)
    last_target = num_tokens - 1
    if last_target <= context_length:
        return 1
    return 1 + math.ceil((last_target - context_length) / stride)


def strided_negative_log_likelihood(model, token_ids, context_length, stride, batch_size=32, on_batch=None):
    """Summed negative log-likelihood (nats) of ``token_ids[1:]`` under ``model``, strided windows.

    Args:
        model: a causal LM mapping int ``(batch, seq_len ≤ context_length)`` to logits
            ``(batch, seq_len, vocab)`` (a GPT from :func:`keras_llm.models.build_gpt`).
        token_ids: int ``(num_tokens,)``, ``num_tokens ≥ 2``.
        context_length: tokens per window (the model's ``max_length``).
        stride: window step, ``1 ≤ stride ≤ context_length``.
        batch_size: windows per forward pass.
        on_batch: optional ``callable(windows_done)`` after each batch (progress).

    Returns:
        ``(total_nats, tokens_scored)``: a float (summed in float64) and ``len(token_ids) - 1``.
    """
    token_ids = np.asarray(token_ids, np.int32)
    summed_nll = _summed_nll_function(model)
    total, count = 0.0, 0
    windows = strided_windows(len(token_ids), context_length, stride)
    for inputs, labels, scored, rows in _window_batches(token_ids, windows, context_length, batch_size):
        row_sums = summed_nll(tf.constant(inputs), tf.constant(labels), tf.constant(scored)).numpy()
        total += float(np.sum(row_sums[:rows], dtype=np.float64))
        count += int(scored.sum())
        if on_batch is not None:
            on_batch(rows)
    return total, count


def strided_token_scores(model, token_ids, context_length, stride, batch_size=32, on_batch=None):
    """Each scored token's probability and the hidden state that predicted it, in text order.

    The same windows as :func:`strided_negative_log_likelihood` (so ``-sum(log(probabilities))`` is
    its total), for a model that also returns a hidden state per position: what a continuous cache
    (:mod:`keras_llm.evaluation.continuous_cache`) reads.

    Args:
        model: maps int ``(batch, seq)`` to ``[logits (batch, seq, vocab), states (batch, seq, dim)]``.
        token_ids, context_length, stride, batch_size, on_batch: as for :func:`strided_negative_log_likelihood`.

    Returns:
        ``(probabilities float64 (n - 1,), states float32 (n - 1, dim), next_ids (n - 1,))`` for ``n`` tokens.
    """
    token_ids = np.asarray(token_ids, np.int32)

    @tf.function(reduce_retracing=True)
    def scores(inputs, labels):
        logits, states = model(inputs, training=False)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.cast(logits, tf.float32))
        return nll, tf.cast(states, tf.float32)

    nlls, all_states, all_labels = [], [], []
    windows = strided_windows(len(token_ids), context_length, stride)
    for inputs, labels, scored, rows in _window_batches(token_ids, windows, context_length, batch_size):
        nll, states = (value.numpy() for value in scores(tf.constant(inputs), tf.constant(labels)))
        keep = scored[:rows]  # rows in window order, positions in text order: the scored tokens in order
        nlls.append(nll[:rows][keep])
        all_states.append(states[:rows][keep])
        all_labels.append(labels[:rows][keep])
        if on_batch is not None:
            on_batch(rows)
    return (np.exp(-np.concatenate(nlls).astype(np.float64)), np.concatenate(all_states),
            np.concatenate(all_labels))


def language_model_metrics(total_nats, tokens_scored, characters_scored):
    """Headline scores from a summed NLL: nats and bits per token, perplexity, bits per character.

    ``bits_per_character`` divides the same total by the characters the scored tokens spell
    (``total_nats / characters_scored / ln 2``), so it compares models with different tokenizers;
    for a character tokenizer it equals ``bits_per_token``.

    Example:
        >>> language_model_metrics(1000.0, 500, 2000)["perplexity"]   # e ** 2 = 7.39
    """
    nats = total_nats / tokens_scored
    return {"cross_entropy": nats, "perplexity": math.exp(nats), "bits_per_token": nats / math.log(2),
            "bits_per_character": total_nats / characters_scored / math.log(2) if characters_scored else None}
