"""Train a BERT classifier recipe into a run directory, and load a run back.

A classifier run directory holds ``run.json`` (recipe, labels, settings), ``tokenizer/``,
``best.keras``, ``final.keras``, ``backup/``, ``logs/`` and, when the recipe holds out a
test split, ``test_metrics.json``.
"""

import dataclasses
import json
import os
import sys

import keras
import numpy as np

from keras_llm.checkpoints import load_hf_bert, resolve_model_directory
from keras_llm.data import label_vocabulary, read_labeled_table, stratified_split
from keras_llm.data.pooled_prediction import classify_texts
from keras_llm.data.window_classification import document_windows
from keras_llm.errors import UserInputError
from keras_llm.evaluation.collapse import collapse_message
from keras_llm.models.bert import BERT_BACKBONE, POSITION_EMBEDDING, BertConfig, build_bert_backbone
from keras_llm.models.bert_classifier import CLASSIFIER_HEAD, build_bert_classifier
from keras_llm.models.bilstm_classifier import build_bilstm_classifier
from keras_llm.runs.backbones import apply_backbone
from keras_llm.runs.layout import RUN_FILE, load_trained_run, read_run_info, write_run_info
from keras_llm.runs.lifecycle import run_lifecycle
from keras_llm.runs.recipes import bundled_data_file, load_recipe
from keras_llm.tokenizers import WordPieceTokenizer
from keras_llm.training.classifier import ClassifierTrainingConfig, train_text_classifier
from keras_llm.training.lora import lora_from_settings
from keras_llm.training.metrics import SparseMacroF1
from keras_llm.training.run_callbacks import run_paths

MODEL_KIND = "bert-classifier"


def _read_tables(paths, data):
    texts, labels = [], []
    for path in paths:
        t, y = read_labeled_table(path, data.get("text_column", "text"), data.get("label_column", "label"),
                                  column_names=data.get("column_names"))
        texts += t
        labels += y
    return texts, labels


def resolve_init_from(init_from):
    """A Hugging Face directory, ``package:<module>`` (its ``get_model_path()``), or a run directory."""
    return resolve_model_directory(init_from) if init_from else init_from


def _backbone_and_tokenizer(init_from, recipe, texts, max_length):
    """Pretrained (HF directory or earlier run) or fresh backbone (positions for ``max_length``), with its tokenizer."""
    if init_from and os.path.isfile(os.path.join(init_from, RUN_FILE)):
        if read_run_info(init_from).get("model") == "bert-mlm":
            from keras_llm.runs.masked_lm import load_mlm_backbone

            return load_mlm_backbone(init_from)
        model, tokenizer, _ = load_classifier_run(init_from)
        if BERT_BACKBONE not in {layer.name for layer in model.layers}:
            raise UserInputError(f"init_from {init_from}: that run is a BiLSTM classifier; only a BERT encoder "
                                 f"can be fine-tuned")
        return model.get_layer(BERT_BACKBONE), tokenizer
    if init_from:
        return load_hf_bert(init_from)
    spec = recipe.get("tokenizer", {})
    tokenizer = WordPieceTokenizer.train(texts, vocab_size=int(spec.get("vocab_size", 8000)),
                                         lowercase=bool(spec.get("lowercase", True)))
    model_config = recipe.get("model_config", {})
    positions = max(int(model_config.get("max_length", 0)), max_length)  # a longer --max-length gets its table
    config = BertConfig(vocab_size=tokenizer.vocab_size, **{**model_config, "max_length": positions})
    return build_bert_backbone(config), tokenizer


def _model_and_tokenizer(init_from, recipe, texts, num_classes, training, training_overrides, log):
    """``(uncompiled classifier, tokenizer, training)``: a BiLSTM over fresh word pieces, or a BERT
    (fresh or pretrained; ``training.max_length`` fitted to a pretrained encoder's positions)."""
    model_config = dict(recipe.get("model_config", {}))
    if model_config.pop("backbone", "bert") == "bilstm":
        spec = recipe.get("tokenizer", {})
        tokenizer = WordPieceTokenizer.train(texts, vocab_size=int(spec.get("vocab_size", 8000)),
                                             lowercase=bool(spec.get("lowercase", True)))
        return build_bilstm_classifier(tokenizer.vocab_size, num_classes, **model_config), tokenizer, training
    backbone, tokenizer = _backbone_and_tokenizer(init_from, recipe, texts, training.max_length)
    if init_from:
        training = fit_max_length(backbone, training, training_overrides, init_from, log)
    return build_bert_classifier(backbone, num_classes), tokenizer, training


def fit_max_length(backbone, training, overrides, source, log=print):
    """``training`` with ``max_length`` no longer than ``backbone``'s position table.

    A pretrained encoder (a masked-LM run, a Hugging Face BERT) fixes how many positions exist.
    A recipe default longer than that is lowered to it, with one line of log; a ``max_length``
    the user asked for explicitly (in ``overrides``) that does not fit is refused.
    """
    try:
        positions = backbone.get_layer(POSITION_EMBEDDING).max_length
    except ValueError:  # no position table (a BiLSTM): any length fits
        return training
    if training.max_length <= positions:
        return training
    if "max_length" in (overrides or {}):
        raise UserInputError(f"max_length {training.max_length} is longer than the {positions} positions of the "
                             f"pretrained model {source}; use a max_length of at most {positions}")
    log(f"max_length {training.max_length} → {positions}: the pretrained model {source} has {positions} positions")
    return dataclasses.replace(training, max_length=positions)


def _split(texts, label_ids, fraction, seed, label_names=None):
    train_index, held_index = stratified_split(label_ids, fraction, seed=seed, label_names=label_names)
    pick = lambda items, index: [items[i] for i in index]  # noqa: E731
    return (pick(texts, train_index), np.asarray(label_ids)[train_index]), \
        (pick(texts, held_index), np.asarray(label_ids)[held_index])


def _training_settings(recipe, run_dir, overrides, pretrained=False):
    """The run's :class:`ClassifierTrainingConfig`: the recipe's ``training`` with ``overrides``.

    A run that starts from pretrained weights (``pretrained``) takes the recipe's
    ``pretrained_training`` over its ``training``: a small BERT from scratch and a pretrained encoder
    want learning rates 10-30× apart (docs/benchmarks.md, "Fine-tuning defaults").

    A run being resumed keeps the settings its run.json recorded, so a recipe whose defaults changed
    since (warm-up steps became a fraction) does not change the schedule halfway; a run.json from
    before warm-up fractions has ``warmup_steps`` and no ``warmup_fraction``, and resumes with its steps.
    A ``warmup_fraction`` override replaces the warm-up steps, which would otherwise take precedence.
    """
    overrides = dict(overrides or {})
    if "warmup_fraction" in overrides:
        overrides.setdefault("warmup_steps", None)
    recorded = {}
    if run_dir and os.path.isfile(os.path.join(run_dir, RUN_FILE)):
        recorded = read_run_info(run_dir).get("training", {})
    defaults = {**recipe.get("training", {}), **(recipe.get("pretrained_training", {}) if pretrained else {})}
    return ClassifierTrainingConfig(**{**defaults, **recorded, **overrides})


def warn_if_collapsed(model, tokenizer, texts, label_ids, label_names, training, what="validation predictions"):
    """Print one ``keras-llm: warning:`` line on stderr when ``model``'s predictions on ``texts`` are all
    one class (:func:`~keras_llm.evaluation.collapse.collapse_message`); returns the message or None."""
    probabilities, _ = classify_texts(model, tokenizer, list(texts), training.max_length,
                                      training.long_text_settings, batch_size=training.eval_batch_size)
    message = collapse_message(np.argmax(probabilities, axis=-1), label_ids, label_names, what)
    if message:
        print(f"keras-llm: warning: {message}", file=sys.stderr)
    return message


def evaluate_classifier(model, tokenizer, texts, label_ids, num_classes, max_length, batch_size=64,
                        long_texts="truncate"):
    """``{"accuracy", "macro_f1", "examples", "longer_than_context"}`` of ``model`` on ``(texts, label_ids)``.

    ``long_texts``: ``"windows"``, ``"truncate"`` or a :class:`~keras_llm.data.windows.LongTexts`
    (see :func:`~keras_llm.data.pooled_prediction.classify_texts`).
    """
    probabilities, too_long = classify_texts(model, tokenizer, list(texts), max_length, long_texts,
                                             batch_size=batch_size)
    predictions = np.argmax(probabilities, axis=-1) if len(texts) else np.zeros(0, np.int64)
    f1 = SparseMacroF1(num_classes)
    f1.update_state(np.asarray(label_ids), np.eye(num_classes)[predictions])
    return {"accuracy": float(np.mean(predictions == np.asarray(label_ids))), "macro_f1": float(f1.result()),
            "examples": len(texts), "longer_than_context": too_long}


def long_text_report(tokenizer, texts, training):
    """One line: how many of ``texts`` are longer than the context, and how they will be read."""
    settings = training.long_text_settings
    budget, stride, max_windows = settings.window_shape(training.max_length)
    windows = document_windows(tokenizer, texts, training.max_length, settings)
    count = int(windows.too_long.sum())
    if settings.mode == "truncate":
        how = f"only their first {training.max_length} tokens are read (long_texts: truncate)"
    else:
        how = (f"each is read as overlapping windows ({stride} pieces apart, at most {max_windows}; "
               f"{len(windows.text_index)} windows in all), their logits {settings.pooling}-pooled")
    return (f"{count} of {len(texts)} texts are longer than the {training.max_length}-token context"
            + (f"; {how}" if count else ""))


@run_lifecycle(MODEL_KIND)
def train_classifier_run(recipe_name, run_dir=None, train_file=None, valid_file=None, text_column=None,
                         label_column=None, init_from=None, training_overrides=None, verbose=1, log=print,
                         backbone=None):
    """Train recipe ``recipe_name`` (a ``bert-classifier`` recipe); returns ``(run_dir, history)``.

    ``backbone``: ``"bert"``, ``"bilstm"`` or ``"minilm"`` for a recipe that offers the choice
    (:mod:`keras_llm.runs.backbones`; default: the recipe's).
    """
    recipe = load_recipe(recipe_name)
    if recipe.get("model") != MODEL_KIND:
        raise UserInputError(f"recipe {recipe_name!r} is not a classifier recipe")
    recipe, backbone = apply_backbone(recipe, recipe_name, backbone, init_from)
    data = dict(recipe.get("data", {}))
    if text_column:
        data["text_column"] = text_column
    if label_column:
        data["label_column"] = label_column
    if train_file:
        data.pop("column_names", None)
        paths = [train_file]
    elif data.get("files"):
        paths = [bundled_data_file(path) for path in data["files"]]
    else:
        raise UserInputError(f"recipe {recipe_name!r} needs a training file (train_file: a CSV/TSV with a header)")
    texts, labels = _read_tables(paths, data)
    label_names = label_vocabulary(labels)
    index = {name: i for i, name in enumerate(label_names)}
    label_ids = [index[label] for label in labels]

    test = None
    if data.get("test_fraction") and not train_file:
        (texts, label_ids), test = _split(texts, label_ids, data["test_fraction"], data.get("test_seed", 0),
                                        label_names)
        texts, label_ids = list(texts), list(label_ids)
    if valid_file:
        valid_texts, valid_labels = _read_tables([valid_file], data)
        unknown = sorted(set(valid_labels) - set(label_names))
        if unknown:
            raise UserInputError(f"{valid_file} has labels not in the training data: {', '.join(unknown[:5])}")
        train, valid = (texts, np.asarray(label_ids)), (valid_texts, np.asarray([index[v] for v in valid_labels]))
    else:
        train, valid = _split(texts, label_ids, data.get("validation_fraction", 0.1), 0, label_names)

    init_from = init_from or recipe.get("init_from")
    training = _training_settings(recipe, run_dir, training_overrides, pretrained=bool(init_from))
    keras.utils.set_random_seed(training.seed)
    init_from = resolve_init_from(init_from)
    model, tokenizer, training = _model_and_tokenizer(init_from, recipe, train[0], len(label_names), training,
                                                      training_overrides, log)
    os.makedirs(run_dir, exist_ok=True)
    tokenizer.save(run_paths(run_dir)["tokenizer"])
    log(f"{recipe_name}: {model.count_params() / 1e6:.2f}M parameters, {len(label_names)} classes, "
        f"{len(train[0])} training / {len(valid[0])} validation texts; run directory {run_dir}")
    log(long_text_report(tokenizer, list(train[0]) + list(valid[0]), training))
    lora_from_settings(model, training, trainable_layers=(CLASSIFIER_HEAD,), log=log)
    run_info = {"recipe": recipe_name, "version": recipe.get("version", 1), "model": MODEL_KIND,
                "labels": label_names, "init_from": init_from, "backbone": backbone,
                "model_config": recipe.get("model_config", {}), "data": data, "training": vars(training),
                "data_files": {"train": [os.path.abspath(path) for path in paths],
                               "valid": os.path.abspath(valid_file) if valid_file else None}}
    write_run_info(run_dir, run_info)
    history = train_text_classifier(model, tokenizer, train, valid, label_names, run_dir, training, verbose)
    # The model now holds the best epoch's weights (those of best.keras and the export).
    warn_if_collapsed(model, tokenizer, valid[0], valid[1], label_names, training)
    if test is not None:
        metrics = evaluate_classifier(model, tokenizer, test[0], test[1], len(label_names), training.max_length,
                                      long_texts=training.long_text_settings)
        with open(os.path.join(run_dir, "test_metrics.json"), "w", encoding="utf-8") as handle:
            json.dump(metrics, handle, indent=2)
        log(f"held-out test split: accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} "
            f"({metrics['examples']} texts, {metrics['longer_than_context']} longer than the context)")
    return run_dir, history


def load_classifier_run(run_dir, which="best"):
    """``(model, tokenizer, run_info)`` of a trained classifier run."""
    return load_trained_run(run_dir, MODEL_KIND, which)
