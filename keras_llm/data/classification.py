"""Text classification input: batches of tokenized texts and label ids, tokenized inside tf.data.

Example:
    >>> data = text_classification_dataset(tokenizer, ["a good film"], [1], max_length=32, batch_size=8)
    >>> inputs, labels = next(iter(data))      # inputs: dict of int32 (batch, 16); labels: (batch,)
"""

import numpy as np
import tensorflow as tf

from keras_llm.data.epoch_orders import epoch_orders
from keras_llm.data.padding import trim_to_longest


def text_classification_dataset(tokenizer, texts, label_ids, max_length, batch_size, shuffle=False, seed=0,
                                epochs=None):
    """Batches of ``(encoded inputs dict, label ids)``; tokenization runs inside the tf.data graph.

    Texts longer than ``max_length`` tokens are truncated by the tokenizer; each batch is padded only
    to its longest text, rounded up to a multiple of 16 (:mod:`keras_llm.data.padding`). With ``shuffle``,
    pass ``epochs``: the stream then holds ``epochs`` passes, each in its own order drawn from
    ``seed + epoch`` and each ending with its own (possibly short) batch. Because every epoch's
    order is fixed in advance, a run resumed after a crash can skip the finished epochs'
    batches and see exactly the batches an uninterrupted run would have seen.
    """
    label_ids = np.asarray(label_ids, np.int32)
    if shuffle:
        orders = epoch_orders(len(texts), seed, epochs or 1)
        texts, label_ids = np.asarray(list(texts), object)[orders], label_ids[orders]
        data = tf.data.Dataset.from_tensor_slices((tf.constant(texts.tolist(), tf.string),
                                                   tf.constant(label_ids)))
        data = data.flat_map(lambda text, label: tf.data.Dataset.from_tensor_slices((text, label)).batch(batch_size))
    else:
        data = tf.data.Dataset.from_tensor_slices((tf.constant(list(texts), tf.string), tf.constant(label_ids)))
        data = data.batch(batch_size)

    def encode(text, label):
        inputs, = trim_to_longest(tokenizer.encode_batch(text, max_length=max_length))
        return inputs, label

    return data.map(encode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
