"""Train a translator recipe into a run directory, and load a run back.

A run directory holds ``run.json`` (``"model": "transformer-seq2seq"``, recipe, data, model and
training settings), ``source_tokenizer/`` and ``target_tokenizer/``, ``best.keras`` (lowest
validation loss), ``final.keras``, ``backup/`` (resume) and ``logs/`` (TensorBoard: loss, token
accuracy, BLEU and chrF, example translations).
"""

import os
import random
import time

import keras

from keras_llm.data.pairs import filter_by_length, pairs_dataset, read_pairs, train_pair_tokenizers
from keras_llm.errors import UserInputError
from keras_llm.generation import DecodingOptions
from keras_llm.generation.seq2seq_search import translate
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer
from keras_llm.runs.layout import load_run_model, read_run_info, steps_trained, write_run_info
from keras_llm.runs.lifecycle import run_lifecycle
from keras_llm.runs.recipes import bundled_data_file, load_recipe
from keras_llm.tokenizers import load_tokenizer
from keras_llm.training.run_callbacks import run_paths
from keras_llm.training.translation_metrics import TranslationMetricsCallback
from keras_llm.training.translator import TranslatorTrainingConfig, compile_translator, train_translator

MODEL_KIND = "transformer-seq2seq"


def _data_path(given, recipe_value, recipe_name, option):
    if given:
        return os.fspath(given)
    if not recipe_value:
        raise UserInputError(f"recipe {recipe_name!r} needs {option} of tab-separated source<TAB>target pairs")
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


def _tokenizers(run_dir, train_pairs, spec):
    source_dir, target_dir = os.path.join(run_dir, "source_tokenizer"), os.path.join(run_dir, "target_tokenizer")
    if os.path.isdir(source_dir) and os.path.isdir(target_dir):  # resuming: ids must keep their meaning
        return load_tokenizer(source_dir), load_tokenizer(target_dir)
    source, target = train_pair_tokenizers(*train_pairs, int(spec.get("source_vocabulary_size", 8000)),
                                           int(spec.get("target_vocabulary_size", 8000)),
                                           lowercase=bool(spec.get("lowercase", True)))
    source.save(source_dir)
    target.save(target_dir)
    return source, target


@run_lifecycle(MODEL_KIND)
def train_translator_run(recipe, run_dir=None, pairs_file=None, valid_file=None, source_column=None,
                         target_column=None, training_overrides=None, model_overrides=None, verbose=1, log=print):
    """Train recipe ``recipe`` (a ``model: transformer-seq2seq`` recipe); returns ``(run_dir, history)``.

    Without ``valid_file`` a seeded random share of the pairs is held out. Pairs longer than the
    model's ``max_source_length`` / ``max_target_length`` (counted in tokens) are dropped and
    counted. Re-running with the same ``run_dir`` resumes from the last backup.

    Example:
        >>> run_dir, history = train_translator_run("transformer-spa-eng", training_overrides={"steps": 500})
    """
    recipe_name, recipe = recipe, load_recipe(recipe)
    if recipe.get("model") != MODEL_KIND:
        raise UserInputError(f"recipe {recipe_name!r} is not a {MODEL_KIND} recipe")
    data = recipe.get("data", {})
    pairs_path = _data_path(pairs_file, data.get("pairs"), recipe_name, "a pairs file (pairs_file)")
    columns = (data.get("source_column", 0) if source_column is None else source_column,
               data.get("target_column", 1) if target_column is None else target_column)
    training = TranslatorTrainingConfig(**{**recipe.get("training", {}), **(training_overrides or {})})
    sources, targets = read_pairs(pairs_path, *columns)
    if valid_file:
        train_pairs, valid_pairs = _split(sources, targets, {**data, "valid_pairs": 0}, training.seed)[0], \
            read_pairs(valid_file, *columns)
    else:
        train_pairs, valid_pairs = _split(sources, targets, data, training.seed)
    os.makedirs(run_dir, exist_ok=True)
    source_tokenizer, target_tokenizer = _tokenizers(run_dir, train_pairs, recipe.get("tokenizer", {}))
    model_config = Seq2SeqConfig(source_vocabulary_size=source_tokenizer.vocab_size,
                                 target_vocabulary_size=target_tokenizer.vocab_size,
                                 **{**recipe.get("model_config", {}), **(model_overrides or {})})
    lengths = (model_config.max_source_length, model_config.max_target_length)
    *train_pairs, train_dropped = filter_by_length(*train_pairs, source_tokenizer, target_tokenizer, *lengths)
    *valid_pairs, valid_dropped = filter_by_length(*valid_pairs, source_tokenizer, target_tokenizer, *lengths)
    if len(train_pairs[0]) < 1 or len(valid_pairs[0]) < 1:
        raise UserInputError(f"no pairs fit max_source_length={lengths[0]} / max_target_length={lengths[1]} "
                             "tokens; raise the limits")
    log(f"{recipe_name}: {len(train_pairs[0]):,} training and {len(valid_pairs[0]):,} validation pairs from "
        f"{pairs_path} (dropped as too long: {train_dropped:,} training, {valid_dropped:,} validation); "
        f"vocabularies {source_tokenizer.vocab_size:,} / {target_tokenizer.vocab_size:,}; run directory {run_dir}")
    run_info = {"recipe": recipe_name, "version": recipe.get("version", 1), "model": MODEL_KIND,
                "pairs": os.path.abspath(pairs_path), "valid": os.path.abspath(valid_file) if valid_file else None,
                "source_column": columns[0], "target_column": columns[1],
                "pair_counts": {"train": len(train_pairs[0]), "valid": len(valid_pairs[0]),
                                "dropped_train": train_dropped, "dropped_valid": valid_dropped},
                "model_config": vars(model_config), "training": vars(training),
                "decode": recipe.get("decode", {})}
    write_run_info(run_dir, run_info)

    shape = dict(max_source_length=lengths[0], max_target_length=lengths[1],
                 pad_to_max_length=training.jit_compile)
    # The global seed first: the shuffle's draws depend on it too, and a resumed run (which loads its
    # tokenizers instead of training them) must build the very same stream.
    keras.utils.set_random_seed(training.seed)
    train = pairs_dataset(*train_pairs, source_tokenizer, target_tokenizer, training.batch_size, seed=training.seed,
                          repeat=True, **shape)
    valid = pairs_dataset(*valid_pairs, source_tokenizer, target_tokenizer, training.batch_size, shuffle=False,
                          **shape)
    keras.utils.set_random_seed(training.seed)
    model = build_seq2seq_transformer(model_config)
    compile_translator(model, training)
    log(f"{model.count_params() / 1e6:.2f}M parameters")
    sample_sources, sample_targets = (side[:training.eval_pairs] for side in valid_pairs)
    metrics = TranslationMetricsCallback(
        lambda texts: translate(model, source_tokenizer, target_tokenizer, texts), sample_sources, sample_targets,
        run_paths(run_dir)["logs"], training.eval_interval, tokenize=training.bleu_tokenize, verbose=bool(verbose))
    started = time.time()
    history = train_translator(model, train, valid, run_dir, training, [metrics], verbose,
                               vocabularies=(source_tokenizer.vocabulary, target_tokenizer.vocabulary))
    scores = history.history
    log(f"trained {steps_trained(run_dir, training.steps)} steps in {time.time() - started:.0f}s; "
        f"final val loss {scores['val_loss'][-1]:.4f}, "
        f"BLEU {scores['val_bleu'][-1]:.2f}, chrF {scores['val_chrf'][-1]:.2f} (greedy, {len(sample_sources)} pairs)")
    return run_dir, history


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
