"""Classification batches are padded to their longest text (rounded to 16), and that changes no logit."""

import numpy as np

from keras_llm.data.classification import text_classification_dataset
from keras_llm.models import BertConfig
from keras_llm.models.bert_classifier import build_bert_classifier
from keras_llm.tokenizers import WordPieceTokenizer

TEXTS = ["a great film", "an awful film " * 6, "great", "awful acting and a dull story " * 30]


def _tokenizer():
    return WordPieceTokenizer.train(TEXTS * 5, vocab_size=120)


def test_each_batch_is_cut_to_its_longest_text_rounded_up_to_16():
    tokenizer = _tokenizer()
    batches = list(text_classification_dataset(tokenizer, TEXTS, [1, 0, 1, 0], max_length=128, batch_size=2))
    lengths = [int(np.asarray(inputs["padding_mask"]).sum(axis=1).max()) for inputs, _ in batches]
    widths = [int(inputs["token_ids"].shape[1]) for inputs, _ in batches]
    assert widths[0] == 16 * -(-lengths[0] // 16) < 128  # short texts: a fraction of max_length
    assert widths[1] == 128  # a text longer than max_length is still cut at max_length
    for inputs, labels in batches:
        assert set(inputs) == {"token_ids", "segment_ids", "padding_mask"}
        assert all(value.shape == inputs["token_ids"].shape for value in inputs.values())
        assert labels.shape == (2,)


def test_trimmed_batches_give_the_logits_of_full_padding():
    tokenizer = _tokenizer()
    model = build_bert_classifier(BertConfig(vocab_size=len(tokenizer.vocabulary), hidden_dim=16, num_layers=1,
                                             num_heads=2, intermediate_dim=32, max_length=128), 2)
    inputs, _ = next(iter(text_classification_dataset(tokenizer, TEXTS[:3], [1, 0, 1], 128, batch_size=3)))
    full = tokenizer.encode_batch(TEXTS[:3], max_length=128)
    assert inputs["token_ids"].shape[1] < 128
    np.testing.assert_allclose(model(inputs, training=False), model(full, training=False), atol=1e-5)
