"""Dynamic masking for BERT pretraining, inside the tf.data pipeline (tensorflow-text ops).

Masks are drawn anew for every batch, so each pass over the data sees different masks
(RoBERTa's "dynamic masking"): 15% of the real tokens ([CLS]/[SEP]/[PAD] never), of which
80% become [MASK], 10% a random token and 10% stay as they are. The draws are *stateless*,
seeded by ``(seed, batch number)``: tensorflow-text's default choosers draw from stateful
generators inside tf.data, whose state is not part of any checkpoint and whose order of use is
not fixed, so two identical runs got different masks and a resumed run could never repeat them.
"""

import tensorflow as tf
import tensorflow_text as tf_text

from keras_llm.errors import UserInputError


def masked_lm_batches(tokenizer, texts, max_length, mask_rate=0.15, max_predictions=None):
    """A function mapping a batch of strings to ``(inputs, labels, weights)`` for the masked LM.

    Returns ``fn(texts (batch,)) -> (dict(token_ids, segment_ids, padding_mask, mask_positions),
    labels (batch, P), weights (batch, P))`` with ``P = max_predictions`` (default
    ``round(mask_rate * max_length)``); weights are 1 for real predictions, 0 for padding.
    """
    predictions = int(max_predictions or max(1, round(mask_rate * max_length)))
    specials = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id]

    def encode(batch_texts, seed=(0, 0)):
        seed = tf.cast(tf.stack(seed), tf.int64)
        selector = tf_text.RandomItemSelector(
            max_selections_per_batch=predictions, selection_rate=mask_rate, unselectable_ids=specials,
            shuffle_fn=lambda values: tf.random.experimental.stateless_shuffle(values, seed=seed))
        chooser = _StatelessMaskValuesChooser(tokenizer.vocab_size, tokenizer.mask_token_id, seed + [0, 1])
        ids = tf.cast(tokenizer.tokenize(batch_texts)[:, :max_length - 2], tf.int32)
        rows = ids.nrows()
        cls = tf.fill([rows, 1], tf.constant(tokenizer.cls_token_id, tf.int32))
        sep = tf.fill([rows, 1], tf.constant(tokenizer.sep_token_id, tf.int32))
        ids = tf.concat([cls, ids, sep], axis=1)
        masked, positions, original = tf_text.mask_language_model(ids, selector, chooser)
        dense = [None, max_length]
        inputs = {
            "token_ids": masked.to_tensor(tokenizer.pad_token_id, shape=dense),
            "segment_ids": tf.zeros_like(masked).to_tensor(0, shape=dense),
            "padding_mask": tf.ones_like(masked).to_tensor(0, shape=dense),
            "mask_positions": tf.cast(positions, tf.int32).to_tensor(0, shape=[None, predictions]),
        }
        labels = tf.cast(original, tf.int32).to_tensor(0, shape=[None, predictions])
        weights = tf.ones_like(original, tf.float32).to_tensor(0.0, shape=[None, predictions])
        return inputs, labels, weights

    return encode


def masked_lm_dataset(tokenizer, texts, max_length, batch_size, shuffle=True, repeat=True, seed=None, **masking):
    """Batches for ``model.fit``: ``(inputs, labels, sample_weights)`` with fresh masks each time.

    Args:
        tokenizer: a ``WordPieceTokenizer`` (needs [CLS], [SEP], [PAD], [MASK]).
        texts: list of str (e.g. the non-empty lines of a corpus).
        max_length: sequence length including [CLS]/[SEP]; longer texts are truncated.
        batch_size: texts per batch.
    """
    texts = [text for text in texts if text.strip()]
    if not texts:
        raise UserInputError("the corpus has no non-empty lines to pretrain on")
    if tokenizer.mask_token_id is None:
        raise UserInputError("the tokenizer has no [MASK] token")
    data = tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string))
    if shuffle:
        data = data.shuffle(min(len(texts), 100_000), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        data = data.repeat()
    data = data.batch(batch_size, drop_remainder=repeat)
    encode = masked_lm_batches(tokenizer, texts, max_length, **masking)
    # Batch k is masked with seeds (seed, 3k .. 3k+2) whatever thread computes it, so the stream is the same in
    # every run and a resumed run that skips the finished batches sees the masks it would have seen.
    base_seed = tf.constant(0 if seed is None else seed, tf.int64)
    return data.enumerate().map(lambda index, batch_texts: encode(batch_texts, seed=(base_seed, 3 * index)),
                                num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


class _StatelessMaskValuesChooser(tf_text.MaskValuesChooser):
    """tensorflow-text's 80% [MASK] / 10% random token / 10% unchanged choice, drawn statelessly from ``seed``."""

    def __init__(self, vocab_size, mask_token, seed, mask_token_rate=0.8, random_token_rate=0.1):
        super().__init__(vocab_size, mask_token, mask_token_rate=mask_token_rate,
                         random_token_rate=random_token_rate)
        self._seed = seed
        self._mask_rate = mask_token_rate

    def get_mask_values(self, masked_lm_ids):
        flat = masked_lm_ids.flat_values
        draw = tf.random.stateless_uniform(tf.shape(flat), seed=self._seed)
        random_ids = tf.random.stateless_uniform(tf.shape(flat), seed=self._seed + [0, 1], maxval=self.vocab_size,
                                                 dtype=tf.int64)
        mask_id = tf.cast(self.mask_token, flat.dtype)
        values = tf.where(draw < self._mask_rate, tf.fill(tf.shape(flat), mask_id),
                          tf.where(draw < self._mask_rate + self.random_token_rate,
                                   tf.cast(random_ids, flat.dtype), flat))
        return masked_lm_ids.with_flat_values(values)
