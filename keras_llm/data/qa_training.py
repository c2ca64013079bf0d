"""SQuAD examples → labelled windows and the tf.data batches a span reader trains on.

Every window of a question (:func:`~keras_llm.data.qa_windows.encode_qa_windows`) is a training
example. Its labels are the positions of the answer's first and last piece when the window holds
the whole answer, else ``[CLS]`` (position 0) for both, as in BERT's SQuAD v1.1 recipe. The
answer's pieces are the context pieces whose words overlap the answer's characters (the first
reference answer of a question is the one trained on). Windows are encoded once, eagerly, in
chunks; batches are cut to their longest row (:mod:`keras_llm.data.padding`) and, when shuffled,
follow per-epoch orders fixed in advance (:mod:`keras_llm.data.epoch_orders`), so a resumed run
skips exactly the finished epochs.

Example:
    >>> windows = qa_training_windows(tokenizer, examples, max_length=256, stride=128)
    >>> windows["start_positions"].shape == windows["end_positions"].shape == windows["example"].shape
    True
"""

import numpy as np
import tensorflow as tf

from keras_llm.data.epoch_orders import epoch_orders
from keras_llm.data.padding import trim_to_longest
from keras_llm.data.qa_windows import encode_qa_windows

INPUT_KEYS = ("token_ids", "segment_ids", "padding_mask")


def answer_pieces(begin, end, answer_start, answer_text):
    """``(first, last)`` indices of the context pieces (character spans ``begin``/``end``) that overlap the
    answer, or ``None`` when none does (an answer of only whitespace)."""
    answer_end = answer_start + len(answer_text)
    overlapping = np.flatnonzero((end > answer_start) & (begin < answer_end))
    return (int(overlapping[0]), int(overlapping[-1])) if overlapping.size else None


def window_labels(encoded, answers):
    """Start/end labels of every window of ``encoded`` (one chunk), ``answers[i]``: ``(text, start)`` or ``None``."""
    begins, ends = encoded["begin"].to_list(), encoded["end"].to_list()
    example, offset = encoded["example"].numpy(), encoded["context_offset"].numpy()
    window_start, length = encoded["window_start"].numpy(), encoded["window_length"].numpy()
    spans = [answer_pieces(np.asarray(b), np.asarray(e), a[1], a[0]) if a else None
             for b, e, a in zip(begins, ends, answers)]
    starts, stops = np.zeros(len(example), np.int32), np.zeros(len(example), np.int32)
    for w, i in enumerate(example):
        span = spans[i]
        if span and window_start[w] <= span[0] and span[1] < window_start[w] + length[w]:
            starts[w] = offset[w] + span[0] - window_start[w]
            stops[w] = offset[w] + span[1] - window_start[w]
    return starts, stops


def qa_training_windows(tokenizer, examples, max_length, stride, max_question_length=64, chunk=256):
    """All windows of ``examples`` (:class:`~keras_llm.data.squad.QAExample`) with their labels.

    Returns:
        dict of numpy arrays: ``token_ids``, ``segment_ids``, ``padding_mask`` (int32 ``(windows, max_length)``),
        ``start_positions``, ``end_positions`` (int32 ``(windows,)``) and ``example`` (the example each
        window reads, int64 ``(windows,)``).
    """
    parts = {key: [] for key in (*INPUT_KEYS, "start_positions", "end_positions", "example")}
    for first in range(0, len(examples), chunk):
        batch = examples[first:first + chunk]
        encoded = encode_qa_windows(tokenizer, [e.question for e in batch], [e.context for e in batch],
                                    max_length, stride, max_question_length)
        starts, stops = window_labels(encoded, [e.answers[0] if e.answers else None for e in batch])
        for key in INPUT_KEYS:
            parts[key].append(encoded["inputs"][key].numpy())
        parts["start_positions"].append(starts)
        parts["end_positions"].append(stops)
        parts["example"].append(encoded["example"].numpy().astype(np.int64) + first)
    return {key: np.concatenate(values) for key, values in parts.items()}


def span_dataset(windows, batch_size, shuffle=False, seed=0, epochs=1):
    """Batches of ``(inputs, {"start_logits": positions, "end_logits": positions})`` from :func:`qa_training_windows`.

    With ``shuffle`` the stream holds ``epochs`` passes, each in the order drawn from ``seed + epoch``.
    """
    count = len(windows["token_ids"])
    order = epoch_orders(count, seed, epochs).reshape(-1) if shuffle else np.arange(count)
    columns = {key: windows[key][order] for key in (*INPUT_KEYS, "start_positions", "end_positions")}
    data = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle:  # each pass ends with its own (possibly short) batch, as the classifiers' do
        data = data.batch(count).flat_map(lambda rows: tf.data.Dataset.from_tensor_slices(rows).batch(batch_size))
    else:
        data = data.batch(batch_size)

    def split(rows):
        inputs, = trim_to_longest({key: rows[key] for key in INPUT_KEYS})  # labels stay inside the kept width
        return inputs, {"start_logits": rows["start_positions"], "end_logits": rows["end_positions"]}

    return data.map(split, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
