"""From a span reader's start/end logits over windows to one answer per question, in TensorFlow ops.

Here (not in ``evaluation`` or ``export``) because the library's ``answer_questions``, `keras-llm
evaluate`/`predict` and the SavedModel all decode through :func:`read_answers`, so their answers
are the same; the model is an argument.

The answer of a question is the best **valid** span over all its windows: both ends on context
pieces of one window, end not before start, at most ``max_answer_length`` pieces. A span's score
is ``p_start(start) * p_end(end)``, each a softmax over its window's positions (``[CLS]`` and the
question included, so a window the model thinks holds no answer gives all its spans a low score);
windows are compared by that score. A question whose answer is not in the context still gets the
best span there is, with its (low) score; only an empty context gives ``""`` with score 0.

Example:
    >>> result = read_answers(model, tokenizer, ["Who came?"], ["Ann came home."], max_length=64, stride=32)
    >>> sorted(result)   # each (batch,): the span's text, p_start * p_end, character offsets
    ['answer', 'end', 'score', 'start']
"""

import tensorflow as tf

from keras_llm.data.padding import trim_to_longest
from keras_llm.data.qa_windows import encode_qa_windows


def best_window_spans(start_logits, end_logits, context_offset, window_length, max_answer_length):
    """The best valid span of each window.

    Args:
        start_logits, end_logits: float ``(windows, seq_len)``.
        context_offset, window_length: int32 ``(windows,)`` (see :func:`encode_qa_windows`).
        max_answer_length: longest answer in pieces.

    Returns:
        ``(log_score, start, end)``: float32 ``(windows,)`` (``-inf`` for a window with no context piece)
        and int32 positions in the window's sequence.
    """
    start_logp = tf.nn.log_softmax(tf.cast(start_logits, tf.float32), axis=-1)
    end_logp = tf.nn.log_softmax(tf.cast(end_logits, tf.float32), axis=-1)
    positions = tf.range(tf.shape(start_logp)[1])
    in_context = (positions[None, :] >= context_offset[:, None]) & \
                 (positions[None, :] < (context_offset + window_length)[:, None])  # (windows, seq)
    gap = positions[None, :] - positions[:, None]  # end - start, (seq, seq)
    valid = in_context[:, :, None] & in_context[:, None, :] & ((gap >= 0) & (gap < max_answer_length))[None]
    pair = tf.where(valid, start_logp[:, :, None] + end_logp[:, None, :], float("-inf"))
    width = tf.shape(pair)[2]
    flat = tf.reshape(pair, [tf.shape(pair)[0], -1])
    best = tf.argmax(flat, axis=-1, output_type=tf.int32)
    return tf.reduce_max(flat, axis=-1), best // width, best % width


def pick_answers(encoded, log_score, start, end, num_examples):
    """The best window of each example and its answer text and character offsets.

    Returns:
        dict ``answer`` (tf.string ``(batch,)``), ``score`` (float32), ``start``/``end`` (int32 character
        offsets into the cleaned context, ``end`` exclusive).
    """
    example = encoded["example"]
    best_of_example = tf.math.unsorted_segment_max(log_score, example, num_examples)
    windows = tf.range(tf.size(example))
    is_best = (log_score >= tf.gather(best_of_example, example)) & tf.math.is_finite(log_score)
    chosen = tf.math.unsorted_segment_min(tf.where(is_best, windows, tf.size(example)), example, num_examples)
    found = chosen < tf.size(example)
    window = tf.where(found, chosen, 0)
    flat_index = lambda position: (tf.gather(encoded["first_piece"], window)  # noqa: E731
                                   + tf.cast(tf.gather(position, window) - tf.gather(encoded["context_offset"],
                                                                                     window), tf.int64))
    # A trailing 0 keeps the gathers in range when no context has a piece at all (every answer then "").
    begin = tf.concat([encoded["begin"].flat_values, tf.zeros([1], tf.int64)], axis=0)
    end_chars = tf.concat([encoded["end"].flat_values, tf.zeros([1], tf.int64)], axis=0)
    start_char = tf.where(found, tf.cast(tf.gather(begin, tf.where(found, flat_index(start), 0)), tf.int32), 0)
    end_char = tf.where(found, tf.cast(tf.gather(end_chars, tf.where(found, flat_index(end), 0)), tf.int32), 0)
    return {
        "answer": tf.strings.substr(encoded["texts"], start_char, end_char - start_char, unit="UTF8_CHAR"),
        "score": tf.where(found, tf.exp(tf.gather(log_score, window)), 0.0),
        "start": start_char, "end": end_char,
    }


def read_answers(model, tokenizer, questions, contexts, max_length, stride, max_question_length=64,
                 max_answer_length=30):
    """Answer ``questions`` (``tf.string`` ``(batch,)``) from ``contexts`` with a span reader ``model``.

    Args:
        model: encoded inputs → ``{"start_logits", "end_logits"}`` (float ``(windows, seq_len)``).
        tokenizer, max_length, stride, max_question_length: see :func:`encode_qa_windows`.
        max_answer_length: longest answer in word pieces.

    Returns:
        see :func:`pick_answers`.
    """
    encoded = encode_qa_windows(tokenizer, questions, contexts, max_length, stride, max_question_length)
    inputs, = trim_to_longest(encoded["inputs"])  # a short pair need not run at max_length
    logits = model(inputs, training=False)
    log_score, start, end = best_window_spans(logits["start_logits"], logits["end_logits"],
                                              encoded["context_offset"], encoded["window_length"], max_answer_length)
    return pick_answers(encoded, log_score, start, end, tf.shape(encoded["texts"])[0])
