"""Validation losses of the compared language models, all on the same tokens.

- "val loss" is the trainer's final evaluation: the mean cross-entropy over its fixed set of
  ``eval_batches * batch_size`` random validation windows (``validation_dataset``, seed 1337).
  The N-gram model is scored on the very same windows, each target conditioned only on the
  tokens of its window (:func:`ngram_window_loss`).
- "val loss (all val tokens)" scores every validation token after the first exactly once:
  neural models on consecutive non-overlapping windows of ``sequence_length`` (the context
  restarts at each window, :func:`neural_stream_loss`), the N-gram model with its own
  ``order - 1`` tokens of history (:func:`ngram_stream_loss`).

Losses are in nats per token.
"""

import keras
import numpy as np

from keras_llm.data import validation_dataset


def trainer_validation_windows(trainer_valid_ids, sequence_length, batch_size, eval_batches):
    """The trainer's fixed validation windows (same function, same seed): ``[(inputs, targets), ...]``."""
    return [(x.numpy(), y.numpy()) for x, y in
            validation_dataset(trainer_valid_ids, sequence_length, batch_size, eval_batches)]


def _token_nll(logits, targets):
    logits = np.asarray(logits, np.float64)
    top = logits.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(logits - top).sum(axis=-1)) + top[..., 0]
    return log_norm - np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]


def neural_stream_loss(model, valid_ids, sequence_length, vocab_size):
    """Mean NLL of ``valid_ids[1:]``, each predicted once from non-overlapping windows of ``sequence_length``."""
    valid_ids = np.asarray(valid_ids, np.int32)
    targets = len(valid_ids) - 1
    full = targets // sequence_length
    windows = [(valid_ids[:full * sequence_length].reshape(full, sequence_length),
                valid_ids[1:full * sequence_length + 1].reshape(full, sequence_length))]
    if targets > full * sequence_length:
        start = full * sequence_length
        windows.append((valid_ids[None, start:-1], valid_ids[None, start + 1:]))
    batch = max(1, 2**22 // (sequence_length * vocab_size))  # ~32 MB of float64 logits per batch
    total = 0.0
    for inputs, outputs in windows:
        for i in range(0, len(inputs), batch):
            logits = model(inputs[i:i + batch], training=False)
            total += float(_token_nll(keras.ops.convert_to_numpy(logits), outputs[i:i + batch]).sum())
    return total / targets


def _ngram_nll_after_first(lm, ids):
    """Summed NLL of ``ids[1:]``, each from at most ``order - 1`` previous ids of ``ids``."""
    return lm.cross_entropy(ids) * len(ids) + lm.log_prob([], int(ids[0]))


def ngram_stream_loss(lm, valid_ids):
    """Mean NLL of ``valid_ids[1:]`` under the N-gram model ``lm``, each from its ``order - 1`` previous ids."""
    return _ngram_nll_after_first(lm, valid_ids) / (len(valid_ids) - 1)


def ngram_window_loss(lm, windows):
    """Mean NLL of the targets of the trainer's validation windows, context restricted to each window."""
    total, count = 0.0, 0
    for inputs, targets in windows:
        for x, y in zip(np.asarray(inputs), np.asarray(targets)):
            total += _ngram_nll_after_first(lm, np.concatenate([x, y[-1:]]))
            count += len(y)
    return total / count
