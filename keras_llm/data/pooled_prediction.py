"""Class probabilities of texts of any length: windows through the classifier, logits pooled per text.

The one function that prediction, evaluation, the training run's held-out test and the exported
SavedModel share (the export wraps :func:`pooled_logits` in its signature). It lives in ``data`` because
every floor that predicts (``training``, ``evaluation``, ``export``) may import ``data``; the model comes
in as an argument, so nothing here imports ``models``.

Example:
    >>> probabilities, too_long = classify_texts(model, tokenizer, ["short", contract], 128, long_texts="windows")
    >>> probabilities.shape, too_long        # ((2, num_classes), 1): one text was longer than 128 tokens
"""

import numpy as np
import tensorflow as tf

from keras_llm.checks import positive_int
from keras_llm.data.padding import trim_to_longest
from keras_llm.data.windows import LongTexts, encode_windows, map_in_chunks, normalized_mean, pool_windows


def pooled_logits(model, tokenizer, texts, max_length, settings, chunk_size=32):
    """Graph-friendly: ``texts`` ``tf.string`` ``(n,)`` → ``(logits, too_long)``.

    ``logits`` float32 ``(n, num_classes)`` pools each text's window logits (``settings.pooling``);
    ``too_long`` bool ``(n,)``. The model runs on ``chunk_size`` windows at a time, each chunk padded only
    to its longest window (rounded up to 16): a 10-word request costs a fraction of a full context.
    """
    inputs, text_index, too_long = encode_windows(tokenizer, texts, max_length, settings)
    logits = map_in_chunks(lambda chunk: model(trim_to_longest(chunk)[0], training=False), inputs, chunk_size)
    return pool_windows(logits, text_index, tf.shape(texts)[0], settings.pooling), too_long


def pooled_embeddings(embed, tokenizer, texts, max_length, settings, chunk_size=32):
    """Graph-friendly: ``texts`` ``tf.string`` ``(n,)`` → ``(embeddings, too_long)``.

    ``embed`` maps encoded inputs to unit vectors ``(rows, dim)``; each window is embedded like a short
    text, and a text's window embeddings are averaged and L2-normalised again (a one-window text keeps
    its embedding bit for bit). ``embeddings`` float32 ``(n, dim)``; ``too_long`` bool ``(n,)``.
    """
    inputs, text_index, too_long = encode_windows(tokenizer, texts, max_length, settings)
    embeddings = map_in_chunks(embed, inputs, chunk_size)
    return normalized_mean(embeddings, text_index, tf.shape(texts)[0]), too_long


def long_text_settings(long_texts="windows", pooling=None, window_stride=None, max_windows=None):
    """A :class:`LongTexts` from a mode name (or a ``LongTexts``), with the given fields replaced."""
    base = long_texts if isinstance(long_texts, LongTexts) else LongTexts(mode=long_texts)
    changes = {"pooling": pooling, "stride": window_stride, "max_windows": max_windows}
    return LongTexts(**{**vars(base), **{key: value for key, value in changes.items() if value is not None}})


def text_classifier(model, tokenizer, max_length, long_texts="windows", pooling=None, window_stride=None,
                    max_windows=None, batch_size=32):
    """A function ``texts (list of str) → (probabilities, too_long)`` that traces its graph once.

    See :func:`classify_texts` for the arguments and the result; use this one when texts arrive in
    batches (a streamed file), so every batch reuses the same compiled function.
    """
    settings = long_text_settings(long_texts, pooling, window_stride, max_windows)
    batch_size = positive_int("batch_size", batch_size)
    settings.window_shape(max_length)  # a bad stride fails here, in one line, not inside the graph
    predict = tf.function(
        lambda batch: pooled_logits(model, tokenizer, batch, max_length, settings, batch_size),
        input_signature=[tf.TensorSpec([None], tf.string)])

    def classify(texts):
        probabilities, too_long = [], 0
        for start in range(0, len(texts), batch_size):
            logits, long_rows = predict(tf.constant([str(text) for text in texts[start:start + batch_size]],
                                                    tf.string))
            probabilities.append(tf.nn.softmax(logits, axis=-1).numpy())
            too_long += int(np.sum(long_rows.numpy()))
        if not probabilities:
            return np.zeros((0, int(model.output.shape[-1])), np.float32), 0
        return np.concatenate(probabilities).astype(np.float32), too_long

    return classify


def classify_texts(model, tokenizer, texts, max_length, long_texts="windows", pooling=None, window_stride=None,
                   max_windows=None, batch_size=32):
    """Softmax probabilities of ``texts`` (a list of str) from a classifier (encoded inputs → logits).

    Args:
        long_texts: ``"windows"`` (texts longer than ``max_length`` tokens are read in overlapping
            windows whose logits are pooled), ``"truncate"`` (their first ``max_length`` tokens), or a
            :class:`~keras_llm.data.windows.LongTexts`; ``pooling``, ``window_stride`` and
            ``max_windows`` replace its fields when given.
        batch_size: texts per batch, and windows per model call.

    Returns:
        ``(probabilities, too_long)``: float32 ``(len(texts), num_classes)`` and the number of texts
        longer than the context.
    """
    return text_classifier(model, tokenizer, max_length, long_texts, pooling, window_stride, max_windows,
                           batch_size)(texts)
