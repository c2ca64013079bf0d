"""Dynamic masking for BERT pretraining, inside the tf.data pipeline (tensorflow-text ops).

Masks are drawn anew every time a batch is produced, so each epoch sees different masks
(RoBERTa's "dynamic masking"): 15% of the real tokens ([CLS]/[SEP]/[PAD] never), of which
80% become [MASK], 10% a random token and 10% stay as they are.
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
    selector = tf_text.RandomItemSelector(max_selections_per_batch=predictions, selection_rate=mask_rate,
                                          unselectable_ids=specials)
    chooser = tf_text.MaskValuesChooser(tokenizer.vocab_size, tokenizer.mask_token_id, mask_token_rate=0.8,
                                        random_token_rate=0.1)

    def encode(batch_texts):
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
    return data.map(masked_lm_batches(tokenizer, texts, max_length, **masking),
                    num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
