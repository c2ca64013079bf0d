"""Training on long texts: every window of a document is an example with the document's label.

The documents are tokenized and cut into windows once, in tf.data, with the same ops prediction uses
(:mod:`keras_llm.data.windows`); the windows' pieces are kept in memory (``max_windows × max_length``
ints per document at most), and each batch of windows is framed ``[CLS] … [SEP]`` in the tf.data graph.
Shuffling is over windows, in orders fixed per epoch (:func:`~keras_llm.data.epoch_orders.epoch_orders`),
so a resumed run skips exactly like the text pipeline in :mod:`keras_llm.data.classification`.

Example:
    >>> windows = document_windows(tokenizer, texts, 128, LongTexts())
    >>> data = window_classification_dataset(tokenizer, windows, labels, 128, batch_size=16)
    >>> inputs, window_labels = next(iter(data))      # inputs: dict of int32 (16, 128)
"""

import dataclasses

import numpy as np
import tensorflow as tf

from keras_llm.data.epoch_orders import epoch_orders
from keras_llm.data.windows import frame_windows, text_windows


@dataclasses.dataclass
class DocumentWindows:
    """The windows of a list of documents.

    Attributes:
        pieces: int32 ``tf.RaggedTensor`` ``(num_windows, None)``, each window's word pieces.
        text_index: int32 ``(num_windows,)``, the document of each window.
        too_long: bool ``(num_texts,)``, True where a document is longer than the context.
    """

    pieces: tf.RaggedTensor
    text_index: np.ndarray
    too_long: np.ndarray

    @property
    def num_texts(self):
        return len(self.too_long)

    def labels(self, text_labels):
        """Each window's label: its document's."""
        return np.asarray(text_labels, np.int32)[self.text_index]


def document_windows(tokenizer, texts, max_length, settings, batch_size=64):
    """Tokenize ``texts`` (a list of str) in tf.data and cut them into windows; returns :class:`DocumentWindows`."""
    data = tf.data.Dataset.from_tensor_slices(tf.constant([str(text) for text in texts], tf.string))
    data = data.batch(batch_size).map(lambda batch: text_windows(tokenizer, batch, max_length, settings))
    pieces, text_index, too_long = [], [], []
    for start, (windows, index, long_rows) in zip(range(0, len(texts), batch_size), data):
        pieces.append(windows)
        text_index.append(index.numpy() + start)
        too_long.append(long_rows.numpy())
    if not pieces:
        return DocumentWindows(tf.ragged.constant([], tf.int32, ragged_rank=1), np.zeros(0, np.int32),
                               np.zeros(0, bool))
    return DocumentWindows(tf.concat(pieces, axis=0), np.concatenate(text_index).astype(np.int32),
                           np.concatenate(too_long))


def window_classification_dataset(tokenizer, windows, window_labels, max_length, batch_size, shuffle=False, seed=0,
                                  epochs=None):
    """Batches of ``(encoded windows dict, label ids)`` from :class:`DocumentWindows`.

    With ``shuffle``, ``epochs`` passes, each in its own order drawn from ``seed + epoch`` and each
    ending with its own (possibly short) batch; without it, the windows in document order.
    """
    window_labels = np.asarray(window_labels, np.int32)
    count = len(window_labels)
    if shuffle:
        orders = epoch_orders(count, seed, epochs or 1)
        data = tf.data.Dataset.from_tensor_slices((orders, window_labels[orders]))
        data = data.flat_map(lambda order, label: tf.data.Dataset.from_tensor_slices((order, label)).batch(batch_size))
    else:
        data = tf.data.Dataset.from_tensor_slices((np.arange(count, dtype=np.int64), window_labels))
        data = data.batch(batch_size)
    pieces = windows.pieces
    return data.map(lambda index, label: (frame_windows(tokenizer, tf.gather(pieces, index), max_length), label),
                    num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
