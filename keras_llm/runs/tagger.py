"""Train a token-classifier (tagger) recipe into a run directory, and load a run back.

A tagger run directory holds ``run.json`` (recipe, ``tags`` — the tag vocabulary, id = index —
settings), ``tokenizer/``, ``best.keras``, ``final.keras``, ``backup/``, ``logs/`` and
``valid_metrics.json`` (word accuracy and, for BIO tags, entity P/R/F1 of the best model on
the validation sentences).
"""

import json
import os

import keras

from keras_llm.data.conll import encode_tags, is_bio_tagset, read_conll, tag_vocabulary
from keras_llm.errors import UserInputError
from keras_llm.models.token_classifier import HEAD, build_token_classifier
from keras_llm.runs.backbones import apply_backbone, pretrained_bert_encoder
from keras_llm.runs.classifier import fit_max_length, resolve_init_from
from keras_llm.runs.layout import load_trained_run, write_run_info
from keras_llm.runs.lifecycle import run_lifecycle
from keras_llm.runs.recipes import bundled_data_file, load_recipe
from keras_llm.tokenizers import WordPieceTokenizer
from keras_llm.training.lora import lora_from_settings
from keras_llm.training.run_callbacks import run_paths
from keras_llm.training.tagger import TaggerTrainingConfig, evaluate_tagger, train_tagger

MODEL_KIND = "token-classifier"


def _read(path, data):
    return read_conll(path, fmt=data.get("format"), tag_column=data.get("tag_column"))


@run_lifecycle(MODEL_KIND)
def train_tagger_run(recipe_name, run_dir=None, train_file=None, valid_file=None, init_from=None, tag_column=None,
                     training_overrides=None, model_overrides=None, data_format=None, verbose=1, log=print,
                     backbone=None):
    """Train recipe ``recipe_name`` (a ``token-classifier`` recipe); returns ``(run_dir, history)``.

    Args:
        train_file, valid_file: CoNLL/CoNLL-U files replacing the recipe's (``valid_file`` defaults
            to the recipe's, else the last 10% of the training sentences).
        init_from: a Hugging Face BERT directory, ``package:<module>``, or an earlier
            bert-mlm / bert-classifier / BERT tagger run (its encoder and tokenizer).
        tag_column, data_format: CoNLL-U tag column and file format (see :func:`read_conll`).
        training_overrides, model_overrides: dicts over the recipe's ``training`` / ``model_config``.
        backbone: ``"bert"``, ``"bilstm"`` or ``"minilm"`` for a recipe that offers the choice
            (:mod:`keras_llm.runs.backbones`; default: the recipe's).
    """
    recipe = load_recipe(recipe_name)
    if recipe.get("model") != MODEL_KIND:
        raise UserInputError(f"recipe {recipe_name!r} is not a token-classifier recipe")
    recipe, backbone = apply_backbone(recipe, recipe_name, backbone, init_from)
    data = {**recipe.get("data", {}), **{k: v for k, v in (("tag_column", tag_column), ("format", data_format)) if v}}
    (train_path, train_sentences), (valid_path, valid_sentences) = _sentences(recipe_name, data, train_file,
                                                                              valid_file)
    tag_names = tag_vocabulary(train_sentences)
    train_ids, _ = encode_tags(train_sentences, tag_names)
    valid_ids, unknown = encode_tags(valid_sentences, tag_names)
    if unknown:
        log(f"validation: {sum(unknown.values())} words with tags unseen in training "
            f"({', '.join(sorted(unknown)[:5])}) are left out of the metrics")

    training = TaggerTrainingConfig(**{**recipe.get("training", {}), **(training_overrides or {})})
    keras.utils.set_random_seed(training.seed)
    init_from = resolve_init_from(init_from or recipe.get("init_from"))
    model_config = {**recipe.get("model_config", {}), **(model_overrides or {})}
    model, tokenizer, training = _model_and_tokenizer(init_from, recipe.get("tokenizer", {}), model_config,
                                                      train_sentences, len(tag_names), training,
                                                      training_overrides, log)

    os.makedirs(run_dir, exist_ok=True)
    tokenizer.save(run_paths(run_dir)["tokenizer"])
    log(f"{recipe_name}: {model.count_params() / 1e6:.2f}M parameters, {len(tag_names)} tags, "
        f"{len(train_sentences)} training / {len(valid_sentences)} validation sentences; run directory {run_dir}")
    lora_from_settings(model, training, trainable_layers=(HEAD,), log=log)
    entity = is_bio_tagset(tag_names)
    write_run_info(run_dir, {
        "recipe": recipe_name, "version": recipe.get("version", 1), "model": MODEL_KIND, "tags": tag_names,
        "entity_metrics": entity, "init_from": init_from, "backbone": backbone, "data": data,
        "model_config": model_config,
        "training": vars(training),
        "data_files": {"train": os.path.abspath(train_path),
                       "valid": os.path.abspath(valid_path) if valid_path else None}})

    history = train_tagger(model, tokenizer, (train_sentences, train_ids), (valid_sentences, valid_ids), tag_names,
                           run_dir, training, verbose)

    metrics = evaluate_tagger(model, tokenizer, valid_sentences, tag_names, training.max_length)
    with open(os.path.join(run_dir, "valid_metrics.json"), "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=2)
    summary = f"validation: word accuracy {metrics['accuracy']:.4f} on {metrics['words']} words"
    if entity:
        summary += f", entity F1 {metrics['entity_f1']:.4f}"
    log(summary)
    return run_dir, history


def _sentences(recipe_name, data, train_file, valid_file):
    """``((train path, sentences), (valid path or None, sentences))``: the given or bundled files; without
    a validation file, the last 10% of the training sentences validate."""
    bundled = lambda key: bundled_data_file(data[key]) if data.get(key) else None  # noqa: E731
    train_path = train_file or bundled("train")
    if not train_path:
        raise UserInputError(
            f"recipe {recipe_name!r} needs a training file (train_file: CoNLL token<TAB>tag or CoNLL-U)")
    train_sentences = _read(train_path, data)
    valid_path = valid_file or (None if train_file else bundled("valid"))
    if valid_path:
        return (train_path, train_sentences), (valid_path, _read(valid_path, data))
    cut = max(1, len(train_sentences) // 10)
    if len(train_sentences) < 2:
        raise UserInputError(f"{train_path} has one sentence; give a validation file (valid_file) or more sentences")
    return (train_path, train_sentences[:-cut]), (None, train_sentences[-cut:])


def _model_and_tokenizer(init_from, tokenizer_spec, model_config, train_sentences, num_tags, training,
                         training_overrides, log):
    """``(uncompiled tagger, tokenizer, training)``: on a pretrained BERT encoder (``training.max_length``
    fitted to its positions), or fresh with a WordPiece vocabulary of the training sentences."""
    if init_from:
        pretrained, tokenizer = pretrained_bert_encoder(init_from, ("bert-classifier", MODEL_KIND))
        training = fit_max_length(pretrained, training, training_overrides, init_from, log)
        model = build_token_classifier("bert", num_tags, pretrained=pretrained,
                                       dropout=model_config.get("dropout", 0.1))
        return model, tokenizer, training
    tokenizer = WordPieceTokenizer.train([" ".join(s.words) for s in train_sentences],
                                         vocab_size=int(tokenizer_spec.get("vocab_size", 8000)),
                                         lowercase=bool(tokenizer_spec.get("lowercase", True)))
    options = {"max_length": training.max_length, **model_config}
    model = build_token_classifier(options.pop("backbone", "bert"), num_tags, tokenizer.vocab_size, **options)
    return model, tokenizer, training


def load_tagger_run(run_dir, which="best"):
    """``(model, tokenizer, run_info)`` of a trained tagger run."""
    return load_trained_run(run_dir, MODEL_KIND, which)
