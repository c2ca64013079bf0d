"""Compare text classifiers (small BERT, BiLSTM, GRU, bag-of-n-grams) on one labelled table.

``compare_classifiers(train_path, settings)`` trains every model on the same training texts and
scores it on the same validation texts, then writes ``report.md`` (table and settings),
``report.png`` (accuracy and macro-F1 per model) and ``results.json``.

What is shared, and how:

- The split: a stratified 10% of the table validates (``stratified_split``, ``seed``), unless
  ``valid_path`` names a separate table. Tokenizers and vocabularies see the training texts only.
- The budget: the same number of epochs (at most) for every neural model, batch size 32, early
  stopping on validation loss (patience 2, best weights restored) for all of them.
- The scores: accuracy and macro-F1 (``SparseMacroF1``) of the argmax predictions on the
  validation texts. "train s" is the wall time of tokenizer/vocabulary training plus ``fit``.

The models (:mod:`~keras_llm.experiments.classify_runs`; the report in
:mod:`~keras_llm.experiments.classify_report`):

- ``bert``: a small BERT from scratch (WordPiece trained on the training texts), fine-tuned with
  ``train_text_classifier`` (AdamW, warm-up and linear decay).
- ``bilstm`` / ``gru``: ``build_rnn_classifier`` over word ids (``WordTokenizer``, words seen at
  least twice, lowercased; ids shifted by one so 0 is padding), Adam.
- ``bow``: multinomial logistic regression on uni+bigram TF-IDF features
  (``build_bag_of_words_classifier``), Adam.
"""

import dataclasses
import json
import os
import time

import keras
import numpy as np

from keras_llm.checks import positive_int
from keras_llm.data import label_vocabulary, read_labeled_table, stratified_split
from keras_llm.errors import UserInputError
from keras_llm.experiments.classify_report import plot_scores, render_report
from keras_llm.experiments.classify_runs import BATCH_SIZE, PATIENCE, run_bert, run_bow, run_rnn, scores, word_ids
from keras_llm.experiments.model_names import parse_model_names

MODELS = ("bert", "bilstm", "gru", "bow")
VALIDATION_FRACTION = 0.1

# scores and word_ids moved to classify_runs; they stay importable from here, their old home.
__all__ = ["ClassifierComparisonSettings", "MODELS", "compare_classifiers", "load_split", "parse_classifier_models",
           "scores", "word_ids"]


def parse_classifier_models(models):
    """``"a,b"`` or a sequence of names → a tuple of distinct names from ``MODELS``."""
    return parse_model_names(models, MODELS)


@dataclasses.dataclass
class ClassifierComparisonSettings:
    """Everything a classifier comparison is run with; checked on creation.

    Args:
        out_dir: where ``report.md``, ``report.png`` and ``results.json`` go.
        valid_path: optional validation table (default: a stratified 10% of the training table).
        text_column, label_column: column names in the header.
        models: names from ``MODELS`` (a sequence or a comma-separated string; kept as a tuple).
        epochs: the most epochs of every neural model (early stopping may end it sooner).
        max_length: tokens per text (BERT: WordPiece tokens with [CLS]/[SEP]; RNNs: words).
        seed: split, initialisation and shuffling seed.
        verbose: Keras ``fit`` verbosity.
        hidden_dim: BERT width and RNN embedding/state width.
        bert_layers, bert_vocab_size: BERT depth and WordPiece vocabulary size.
        jit_compile: XLA for the training steps (off is faster for tiny runs).

    Example:
        >>> ClassifierComparisonSettings(out_dir="runs/classify", models="bow,gru", epochs=3).models
        ('bow', 'gru')
    """

    out_dir: str = "runs/compare"
    valid_path: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    models: tuple = MODELS
    epochs: int = 5
    max_length: int = 64
    seed: int = 1337
    verbose: int = 0
    hidden_dim: int = 128
    bert_layers: int = 2
    bert_vocab_size: int = 4000
    jit_compile: bool = True
    command: str | None = None  # how the caller spells this run (the CLI gives its command line)

    def __post_init__(self):
        self.models = parse_classifier_models(self.models)
        self.epochs = positive_int("epochs", self.epochs)
        self.max_length = positive_int("max-length", self.max_length)
        self.seed = int(self.seed)
        self.hidden_dim = positive_int("hidden-dim", self.hidden_dim)
        self.bert_layers = positive_int("bert-layers", self.bert_layers)
        self.bert_vocab_size = positive_int("bert-vocab-size", self.bert_vocab_size)
        self.jit_compile = bool(self.jit_compile)

    def record(self, train_path):
        """The settings as written to results.json (before the split adds its labels and sizes)."""
        return {"train": os.fspath(train_path), "valid": os.fspath(self.valid_path) if self.valid_path else None,
                "text_column": self.text_column, "label_column": self.label_column, "models": list(self.models),
                "epochs": self.epochs, "max_length": self.max_length, "seed": self.seed,
                "hidden_dim": self.hidden_dim, "bert_layers": self.bert_layers,
                "bert_vocab_size": self.bert_vocab_size, "jit_compile": self.jit_compile,
                "batch_size": BATCH_SIZE, "patience": PATIENCE,
                "command": self.command or f"compare_classifiers({os.fspath(train_path)!r}, settings)"}


def load_split(train_path, valid_path, text_column, label_column, seed):
    """``(train_texts, train_ids), (valid_texts, valid_ids), label_names``."""
    texts, labels = read_labeled_table(train_path, text_column, label_column)
    label_names = label_vocabulary(labels)
    index = {name: i for i, name in enumerate(label_names)}
    label_ids = np.asarray([index[label] for label in labels], np.int32)
    if valid_path:
        valid_texts, valid_labels = read_labeled_table(valid_path, text_column, label_column)
        unknown = sorted(set(valid_labels) - set(label_names))
        if unknown:
            raise UserInputError(f"{valid_path} has labels not in the training data: {', '.join(unknown[:5])}")
        return (texts, label_ids), (valid_texts, np.asarray([index[v] for v in valid_labels], np.int32)), label_names
    train_index, valid_index = stratified_split(label_ids, VALIDATION_FRACTION, seed=seed, label_names=label_names)
    if len(valid_index) == 0 or len(train_index) == 0:
        raise UserInputError(f"{train_path} is too small to hold out a validation split; add rows or pass a "
                             f"validation file (valid_path)")
    pick = lambda index: [texts[i] for i in index]  # noqa: E731
    return (pick(train_index), label_ids[train_index]), (pick(valid_index), label_ids[valid_index]), label_names


def _run(name, train, valid, label_names, settings):
    if name == "bert":
        return run_bert(train, valid, label_names, settings)
    if name == "bow":
        return run_bow(train, valid, len(label_names), settings)
    return run_rnn(name, train, valid, len(label_names), settings)


def compare_classifiers(train_path, settings=None, **fields):
    """Train each classifier of ``settings.models`` on one split of ``train_path``; write the report.

    Args:
        train_path: CSV/TSV with a header row.
        settings: a :class:`ClassifierComparisonSettings` (None: the defaults). A path here is taken
            as ``out_dir``, the second argument of earlier releases.
        **fields: instead of ``settings``, its fields as keywords (the form of earlier releases).

    Returns:
        dict: ``{"settings": {...}, "results": [{"model", "params", "train_seconds", "accuracy",
        "macro_f1", ...}, ...]}`` (also written to ``results.json``).
    """
    if isinstance(settings, (str, os.PathLike)):
        settings, fields = None, {"out_dir": settings, **fields}
    if settings is not None and fields:
        raise UserInputError("compare_classifiers: pass either settings or keyword fields, not both")
    settings = settings or ClassifierComparisonSettings(**fields)
    record = settings.record(train_path)
    train, valid, label_names = load_split(train_path, settings.valid_path, settings.text_column,
                                           settings.label_column, settings.seed)
    record.update(labels=label_names, train_examples=len(train[0]), valid_examples=len(valid[0]))
    os.makedirs(settings.out_dir, exist_ok=True)
    results = []
    for name in settings.models:
        keras.utils.set_random_seed(settings.seed)
        start = time.perf_counter()
        model, metrics = _run(name, train, valid, label_names, settings)
        seconds = time.perf_counter() - start
        results.append({"model": name, "params": int(model.count_params()), "train_seconds": seconds, **metrics})
        keras.backend.clear_session()
    report = {"settings": record, "results": results}
    with open(os.path.join(settings.out_dir, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    with open(os.path.join(settings.out_dir, "report.md"), "w", encoding="utf-8") as handle:
        handle.write(render_report(results, record, VALIDATION_FRACTION))
    plot_scores(results, os.path.join(settings.out_dir, "report.png"))
    return report
