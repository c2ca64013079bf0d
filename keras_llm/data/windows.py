"""Long texts as overlapping windows of word pieces, and the windows' outputs pooled per text (TF ops).

A BERT reads ``max_length`` tokens, ``[CLS]`` and ``[SEP]`` included, so ``budget = max_length - 2`` word
pieces of text. A text with more pieces is cut into windows of ``budget`` pieces that start every
``stride`` pieces (default: half a window, so every piece is read twice); each window is framed
``[CLS] pieces [SEP]`` and padded to ``max_length``, exactly as ``encode_batch`` frames a short text. A
text that fits is one window, the very input ``encode_batch`` gives it, so short texts keep their old
outputs. The last window may be shorter than the others.

At most ``max_windows`` windows per text, so a 45,000-word contract costs ``max_windows`` windows, not
a thousand: past the cap the windows' starts are spread evenly from the first piece to the last full
window (rounded down), so the beginning and the end of the document are always read and the body is
sampled at even gaps that are no longer read. ``mode="truncate"`` is the same code with one window: the
first ``budget`` pieces (the old truncation).

Everything here is TensorFlow ops on the tokenizer's ragged pieces, so one code path runs in tf.data
(training), in eager prediction and inside an exported SavedModel's raw-string signature.

Example:
    >>> settings = LongTexts(mode="windows", stride=64, max_windows=16, pooling="mean")
    >>> inputs, text_index, too_long = encode_windows(tokenizer, ["a short text", long_text], 128, settings)
    >>> # inputs: dict of int32 (windows, 128); text_index: (windows,) = [0, 1, 1, 1, ...]; too_long: [F, T]
    >>> logits = pool_windows(model(inputs), text_index, 2, settings.pooling)   # (2, num_classes)
"""

import dataclasses

import tensorflow as tf

from keras_llm.checks import positive_int
from keras_llm.errors import UserInputError

LONG_TEXT_MODES = ("windows", "truncate")
POOLINGS = ("mean", "max")


@dataclasses.dataclass(frozen=True)
class LongTexts:
    """How texts longer than the context are read.

    Args:
        mode: ``"windows"`` (overlapping windows, outputs pooled) or ``"truncate"`` (the first window only).
        stride: pieces between the starts of two windows; ``None`` is half a window's pieces.
        max_windows: windows per text at most (see the module docstring for what happens past it).
        pooling: ``"mean"`` or ``"max"`` over a text's window logits (embeddings are always mean-pooled).
    """

    mode: str = "windows"
    stride: int | None = None
    max_windows: int = 16
    pooling: str = "mean"

    def __post_init__(self):
        if self.mode not in LONG_TEXT_MODES:
            raise UserInputError(f"long_texts must be one of {', '.join(LONG_TEXT_MODES)}; got {self.mode!r}")
        if self.pooling not in POOLINGS:
            raise UserInputError(f"pooling must be one of {', '.join(POOLINGS)}; got {self.pooling!r}")
        if self.stride is not None:
            positive_int("window_stride", self.stride)
        positive_int("max_windows", self.max_windows)

    @classmethod
    def from_training(cls, training):
        """The settings recorded in a run's ``training`` dict (run.json); older runs get the defaults."""
        return cls(mode=training.get("long_texts", cls.mode), stride=training.get("window_stride"),
                   max_windows=training.get("max_windows", cls.max_windows),
                   pooling=training.get("pooling", cls.pooling))

    def window_shape(self, max_length):
        """``(budget, stride, max_windows)`` for a context of ``max_length`` tokens."""
        budget = int(max_length) - 2
        if self.mode == "truncate":  # one window: the first budget pieces (none for max_length 2)
            if budget < 0:
                raise UserInputError(f"max_length {max_length} leaves no room for [CLS] and [SEP]")
            return budget, max(1, budget), 1
        if budget < 1:
            raise UserInputError(f"max_length {max_length} leaves no room for text between [CLS] and [SEP]")
        stride = self.stride or max(1, budget // 2)
        if stride > budget:
            raise UserInputError(f"window_stride {stride} is longer than a window's {budget} pieces "
                                 f"(max_length {max_length} minus [CLS] and [SEP]): text between windows "
                                 "would never be read")
        return budget, stride, self.max_windows


def split_into_windows(pieces, budget, stride, max_windows):
    """Cut each row of ``pieces`` into windows.

    Args:
        pieces: int32 ``tf.RaggedTensor`` ``(texts, None)``, the texts' word pieces (no special tokens).
        budget, stride, max_windows: Python ints, see :meth:`LongTexts.window_shape`.

    Returns:
        ``(windows, text_index)``: int32 ragged ``(num_windows, None)`` (each at most ``budget`` pieces)
        and int32 ``(num_windows,)``, the text each window came from, in order.
    """
    lengths = tf.cast(pieces.row_lengths(), tf.int32)
    excess = tf.maximum(lengths - budget, 0)
    natural = 1 + (excess + stride - 1) // stride          # windows at the given stride
    counts = tf.minimum(natural, max_windows)
    text_index = tf.repeat(tf.range(tf.shape(lengths)[0], dtype=tf.int32), counts)
    number = tf.ragged.range(counts).flat_values              # the window's number within its text
    capped = tf.gather(natural > max_windows, text_index)
    # Past the cap: starts spread evenly over [0, excess]; the int64 product cannot overflow.
    spread_step = tf.cast(tf.gather(excess, text_index), tf.int64) * tf.cast(number, tf.int64)
    spread = tf.cast(spread_step // tf.cast(tf.maximum(max_windows - 1, 1), tf.int64), tf.int32)
    starts = tf.where(capped, spread, number * stride)
    ends = tf.minimum(starts + budget, tf.gather(lengths, text_index))
    offsets = tf.gather(tf.cast(pieces.row_starts(), tf.int32), text_index)
    positions = tf.ragged.range(offsets + starts, offsets + ends)
    return tf.gather(pieces.flat_values, positions), text_index


def frame_windows(tokenizer, windows, max_length):
    """``[CLS] window [SEP]``, padded: the dict ``encode_batch`` returns, int32 ``(num_windows, max_length)``."""
    rows = windows.nrows()
    cls = tf.fill([rows, 1], tf.constant(tokenizer.cls_token_id, tf.int32))
    sep = tf.fill([rows, 1], tf.constant(tokenizer.sep_token_id, tf.int32))
    ids = tf.concat([cls, tf.cast(windows, tf.int32), sep], axis=1)
    shape = [None, int(max_length)]
    return {"token_ids": ids.to_tensor(tokenizer.pad_token_id, shape=shape),
            "segment_ids": tf.zeros_like(ids).to_tensor(0, shape=shape),
            "padding_mask": tf.ones_like(ids).to_tensor(0, shape=shape)}


def text_windows(tokenizer, texts, max_length, settings):
    """Tokenize ``texts`` (``tf.string`` ``(texts,)``) and cut them into windows.

    Returns:
        ``(windows, text_index, too_long)``: ragged pieces ``(num_windows, None)``, int32
        ``(num_windows,)``, and bool ``(texts,)``, True where a text is longer than the context.
    """
    budget, stride, max_windows = settings.window_shape(max_length)
    pieces = tokenizer.tokenize(texts)
    windows, text_index = split_into_windows(pieces, budget, stride, max_windows)
    return windows, text_index, pieces.row_lengths() > budget


def encode_windows(tokenizer, texts, max_length, settings):
    """``(inputs, text_index, too_long)``: the framed windows of ``texts``, ready for a BERT."""
    windows, text_index, too_long = text_windows(tokenizer, texts, max_length, settings)
    return frame_windows(tokenizer, windows, max_length), text_index, too_long


def pool_windows(values, text_index, num_texts, pooling="mean"):
    """Per-text mean (or max) of the windows' ``values`` ``(num_windows, dim)`` → ``(num_texts, dim)``.

    A text with one window gets that window's values unchanged (bit for bit).
    """
    values = tf.cast(values, tf.float32)
    if pooling == "max":
        return tf.math.unsorted_segment_max(values, text_index, num_texts)
    return tf.math.unsorted_segment_mean(values, text_index, num_texts)


def normalized_mean(embeddings, text_index, num_texts):
    """Mean of each text's window embeddings, L2-normalised; a one-window text keeps its embedding as is."""
    mean = pool_windows(embeddings, text_index, num_texts, "mean")
    unit = mean / tf.maximum(tf.norm(mean, axis=-1, keepdims=True), 1e-12)
    single = tf.math.unsorted_segment_sum(tf.ones_like(text_index), text_index, num_texts) == 1
    return tf.where(single[:, tf.newaxis], mean, unit)


def map_in_chunks(fn, inputs, chunk_size, fixed_rows=False):
    """``fn`` (a dict of ``(n, ...)`` tensors → float ``(n, dim)``) over ``inputs`` in chunks of ``chunk_size`` rows.

    Memory stays that of one chunk whatever the number of windows. Fewer rows than ``chunk_size`` are
    one chunk of that many rows, so a one-text request runs the model on one row, not ``chunk_size``.
    The last chunk (and, with no rows at all, one chunk of one row) is filled up with all-zero rows
    ([PAD], masked out) whose outputs are dropped; the result keeps its ``(0, dim)`` shape for no rows.
    ``fixed_rows``: every chunk has ``chunk_size`` rows (one shape for every request, as an XLA-compiled
    ``fn`` wants; the exports before 2026-11-30 did this).

    Example:
        >>> map_in_chunks(lambda chunk: tf.cast(chunk["token_ids"], tf.float32), {"token_ids": ids}, 32)
    """
    rows = tf.shape(inputs["token_ids"])[0]
    if not fixed_rows:
        chunk_size = tf.minimum(tf.maximum(rows, 1), chunk_size)
    total = tf.maximum(rows + (-rows) % chunk_size, chunk_size)
    chunked = {}
    for key, value in inputs.items():
        padding = tf.concat([[[0, total - rows]], tf.zeros([tf.rank(value) - 1, 2], tf.int32)], 0)
        chunked[key] = tf.reshape(tf.pad(value, padding), [-1, chunk_size, *_trailing_shape(value)])
    outputs = tf.map_fn(lambda chunk: tf.cast(fn(chunk), tf.float32), chunked, fn_output_signature=tf.float32)
    return tf.reshape(outputs, [-1, *_trailing_shape(outputs, skip=2)])[:rows]


def _trailing_shape(tensor, skip=1):
    static = tensor.shape[skip:]
    return static.as_list() if static.is_fully_defined() else tf.unstack(tf.shape(tensor)[skip:])
