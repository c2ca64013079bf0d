"""Tagger training pieces: batches, masked loss and accuracy, prediction and evaluation, the fit loop."""

import os

import keras
import numpy as np
import pytest

from keras_llm.data.conll import TaggedSentence, encode_tags
from keras_llm.data.token_alignment import IGNORE_LABEL
from keras_llm.errors import UserInputError
from keras_llm.models.token_classifier import build_token_classifier
from keras_llm.tokenizers import WordPieceTokenizer
from keras_llm.training.tagger import (
    TaggerTrainingConfig,
    evaluate_tagger,
    predict_tags,
    tagger_loss,
    tagging_dataset,
    train_tagger,
    word_accuracy,
)

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "john", "lives", "in", "paris", "un", "##bel", "##ievable", "."]


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer(VOCAB)


def test_batches_are_cut_to_a_multiple_of_16(tokenizer):
    words = [["John", "lives", "in", "Paris", "."], ["Unbelievable"]]
    data = list(tagging_dataset(tokenizer, words, [[0, 1, 1, 2, 1], [3]], max_length=64, batch_size=2))
    (inputs, labels), = data
    assert inputs["token_ids"].shape == (2, 16) and labels.shape == (2, 16)
    assert labels.numpy()[1, :5].tolist() == [IGNORE_LABEL, 3, IGNORE_LABEL, IGNORE_LABEL, IGNORE_LABEL]
    assert int(inputs["padding_mask"].numpy().sum()) == 7 + 5


def test_loss_and_accuracy_skip_ignored_positions():
    labels = np.array([[IGNORE_LABEL, 1, 0, IGNORE_LABEL]])
    logits = np.array([[[9.0, -9.0], [0.0, 2.0], [1.0, 0.0], [-9.0, 9.0]]], "float32")
    expected = -np.mean([np.log(np.exp(2) / (1 + np.exp(2))), np.log(np.e / (1 + np.e))])
    assert float(tagger_loss()(labels, logits)) == pytest.approx(expected, rel=1e-5)
    metric = word_accuracy()
    metric.update_state(labels, logits)
    metric.update_state(np.array([[IGNORE_LABEL, 0]]), logits[:, :2])
    assert float(metric.result()) == pytest.approx(2 / 3)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_predict_and_evaluate_count_unknown_and_truncated_words(tokenizer):
    model = build_token_classifier("bilstm", num_tags=2, vocab_size=len(VOCAB), units=4, embedding_dim=4)
    sentences = [TaggedSentence(["John", "lives", "in"], ["B-PER", "O", "B-LOC"]), TaggedSentence([], []),
                 TaggedSentence(["Unbelievable", "Paris"], ["O", "B-PER"])]
    ids, scores = predict_tags(model, tokenizer, [s.words for s in sentences], max_length=5)
    assert [len(row) for row in ids] == [3, 0, 2]
    assert ids[2][1] == -1 and scores[2][1] == 0.0  # "Paris" does not fit after three pieces
    assert all(0.5 <= score <= 1.0 for score in scores[0])
    result = evaluate_tagger(model, tokenizer, sentences, ["B-PER", "O"], max_length=5)
    assert result["unknown_tag_words"] == 1 and result["truncated_words"] == 1 and result["words"] == 4
    assert {"entity_f1", "entity_precision", "entity_recall"} <= set(result)
    assert "entity_f1" not in evaluate_tagger(model, tokenizer, sentences, ["NOUN", "VERB"], max_length=5)


def test_config_checks():
    with pytest.raises(UserInputError, match="max_length must be at least 3"):
        TaggerTrainingConfig(max_length=2)
    with pytest.raises(UserInputError, match="epochs"):
        TaggerTrainingConfig(epochs=0)
    with pytest.raises(UserInputError, match="max_minutes"):
        TaggerTrainingConfig(max_minutes=0)


def test_word_accuracy_serializes_with_its_ignore_label():
    metric = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(word_accuracy()))
    assert metric.name == "accuracy" and metric.pad_id == IGNORE_LABEL


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_train_tagger_fits_logs_entity_scores_and_saves(tokenizer, tmp_path):
    keras.utils.set_random_seed(0)
    tags = ["B-LOC", "B-PER", "O"]
    sentences = [TaggedSentence(["John", "lives", "in", "Paris", "."], ["B-PER", "O", "O", "B-LOC", "O"]),
                 TaggedSentence(["Paris", "."], ["B-LOC", "O"]), TaggedSentence(["John", "."], ["B-PER", "O"])]
    ids, _ = encode_tags(sentences, tags)
    model = build_token_classifier("bilstm", num_tags=len(tags), vocab_size=len(VOCAB), units=4, embedding_dim=4)
    config = TaggerTrainingConfig(epochs=1, batch_size=2, eval_batch_size=2, max_length=16, jit_compile=False)
    history = train_tagger(model, tokenizer, (sentences, ids), (sentences[:2], ids[:2]), tags, str(tmp_path), config,
                           verbose=0)
    assert len(history.history["val_loss"]) == 1
    assert {"accuracy", "val_accuracy", "val_entity_f1", "val_entity_precision"} <= set(history.history)
    assert all(os.path.isfile(tmp_path / name) for name in ("best.keras", "final.keras", "history.csv"))
    assert model.optimizer.iterations.numpy() == 2  # 3 sentences in batches of 2

