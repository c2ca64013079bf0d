"""One compared text classifier's run: tokenizer or vocabulary, model, fit, validation scores.

Each ``run_*`` returns ``(model, metrics)`` with ``accuracy``, ``macro_f1`` and ``epochs_run``;
``settings`` is the comparison's
:class:`~keras_llm.experiments.compare_classify.ClassifierComparisonSettings`, ``train`` and
``valid`` are ``(texts, label_ids)``.
"""

import tempfile

import numpy as np
import tensorflow as tf

from keras_llm.models import (
    BagOfWordsConfig,
    BertConfig,
    bag_of_ngrams_vectorizer,
    build_bag_of_words_classifier,
    build_bert_backbone,
    build_bert_classifier,
    build_rnn_classifier,
)
from keras_llm.runs.classifier import evaluate_classifier
from keras_llm.tokenizers import WordPieceTokenizer, WordTokenizer
from keras_llm.training.baseline_classifiers import (
    BaselineTrainingConfig,
    bag_of_ngrams_dataset,
    train_bag_of_words_classifier,
    train_word_id_classifier,
)
from keras_llm.training.classifier import ClassifierTrainingConfig, train_text_classifier
from keras_llm.training.metrics import SparseMacroF1

BATCH_SIZE = 32
PATIENCE = 2
BERT_LEARNING_RATE = 1e-3
BERT_WARMUP_STEPS = 50
RNN_LEARNING_RATE = 1e-3
BOW_LEARNING_RATE = 5e-3
BOW_MAX_TOKENS = 20000


def scores(predictions, label_ids, num_classes):
    """``{"accuracy", "macro_f1"}`` of predicted class ids against true ones."""
    predictions, label_ids = np.asarray(predictions), np.asarray(label_ids)
    f1 = SparseMacroF1(num_classes)
    f1.update_state(label_ids, np.eye(num_classes, dtype=np.float32)[predictions])
    return {"accuracy": float(np.mean(predictions == label_ids)), "macro_f1": float(f1.result())}


def _baseline_config(settings, learning_rate):
    return BaselineTrainingConfig(epochs=settings.epochs, batch_size=BATCH_SIZE, learning_rate=learning_rate,
                                  patience=PATIENCE, seed=settings.seed, jit_compile=settings.jit_compile)


def run_bert(train, valid, label_names, settings):
    """Small BERT from scratch (WordPiece trained on the training texts), fine-tuned."""
    tokenizer = WordPieceTokenizer.train(list(train[0]), vocab_size=settings.bert_vocab_size, lowercase=True)
    hidden = settings.hidden_dim
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_dim=hidden, num_layers=settings.bert_layers,
                        num_heads=max(1, hidden // 64), intermediate_dim=4 * hidden,
                        max_length=settings.max_length, dropout=0.1)
    model = build_bert_classifier(build_bert_backbone(config), len(label_names))
    training = ClassifierTrainingConfig(
        epochs=settings.epochs, batch_size=BATCH_SIZE, learning_rate=BERT_LEARNING_RATE,
        warmup_steps=BERT_WARMUP_STEPS, max_length=settings.max_length, patience=PATIENCE, seed=settings.seed,
        jit_compile=settings.jit_compile)
    # The run directory (checkpoints, backup, TensorBoard logs) is scaffolding of the trainer here.
    with tempfile.TemporaryDirectory(prefix="compare_bert_") as run_dir:
        history = train_text_classifier(model, tokenizer, (list(train[0]), train[1]), (list(valid[0]), valid[1]),
                                        label_names, run_dir, training, settings.verbose)
    metrics = evaluate_classifier(model, tokenizer, list(valid[0]), valid[1], len(label_names), settings.max_length)
    return model, {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
                   "epochs_run": len(history.history.get("loss", []))}


def word_ids(tokenizer, texts, max_length):
    """int32 ``(batch, max_length)``: word ids + 1 (so 0 is padding), truncated and zero-padded."""
    ids = tokenizer.tokenize(tf.constant(list(texts), tf.string))[:, :max_length] + 1
    return ids.to_tensor(0, shape=[None, max_length]).numpy().astype(np.int32)


def run_rnn(name, train, valid, num_classes, settings):
    """``bilstm`` or ``gru`` over word ids (words seen at least twice, lowercased)."""
    tokenizer = WordTokenizer.train("\n".join(train[0]), min_frequency=2, lowercase=True)
    x_train = word_ids(tokenizer, train[0], settings.max_length)
    x_valid = word_ids(tokenizer, valid[0], settings.max_length)
    cell, bidirectional = ("lstm", True) if name == "bilstm" else ("gru", False)
    model = build_rnn_classifier(tokenizer.vocab_size + 1, num_classes, cell=cell, bidirectional=bidirectional,
                                 units=settings.hidden_dim, embedding_dim=settings.hidden_dim, dropout=0.1,
                                 name=f"{name}_classifier")
    history = train_word_id_classifier(model, (x_train, train[1]), (x_valid, valid[1]),
                                       _baseline_config(settings, RNN_LEARNING_RATE), settings.verbose)
    predictions = np.argmax(model.predict(x_valid, batch_size=256, verbose=0), axis=-1)
    return model, {**scores(predictions, valid[1], num_classes), "epochs_run": len(history.history["loss"]),
                   "vocab_size": tokenizer.vocab_size + 1}


def run_bow(train, valid, num_classes, settings):
    """Multinomial logistic regression on uni+bigram TF-IDF."""
    config = BagOfWordsConfig(num_classes=num_classes, max_tokens=BOW_MAX_TOKENS, ngrams=2, output_mode="tf_idf")
    vectorizer = bag_of_ngrams_vectorizer(config, train[0])
    model = build_bag_of_words_classifier(config, vectorizer.vocabulary_size())
    history = train_bag_of_words_classifier(model, vectorizer, train, valid,
                                            _baseline_config(settings, BOW_LEARNING_RATE), settings.verbose)
    valid_data = bag_of_ngrams_dataset(vectorizer, *valid, BATCH_SIZE)
    predictions = np.concatenate([np.argmax(model(x, training=False), axis=-1) for x, _ in valid_data])
    return model, {**scores(predictions, valid[1], num_classes), "epochs_run": len(history.history["loss"]),
                   "vocab_size": vectorizer.vocabulary_size()}
