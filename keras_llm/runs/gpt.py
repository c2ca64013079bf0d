"""Train a GPT recipe into a run directory, and load a run back.

A run directory holds ``run.json`` (recipe, model and training settings), ``tokenizer/``,
``best.keras`` (lowest validation loss), ``final.keras``, ``backup/`` (for resuming) and
``logs/`` (TensorBoard).
"""

import os
import time

import keras
import numpy as np

from keras_llm.checkpoints import resolve_model_directory
from keras_llm.data import read_text
from keras_llm.errors import UserInputError
from keras_llm.generation import DecodingOptions, generate
from keras_llm.models import GPTConfig, build_gpt, parameter_count
from keras_llm.runs.gpt_pretrained import pretrained_gpt, training_window
from keras_llm.runs.layout import check_resumed_data, load_trained_run, steps_trained, write_run_info
from keras_llm.runs.lifecycle import run_lifecycle
from keras_llm.runs.recipes import bundled_data_file, load_recipe
from keras_llm.tokenizers import ByteBPETokenizer, CharTokenizer, WordTokenizer, load_tokenizer
from keras_llm.training import TrainingConfig, train_language_model
from keras_llm.training.lora import lora_from_settings
from keras_llm.training.run_callbacks import run_paths


def _corpus_path(recipe, corpus):
    path = corpus or recipe["corpus"]
    return path if corpus else bundled_data_file(path)


TOKENIZER_KINDS = ("char", "word", "bpe")
DEFAULT_MIN_COUNT = 2  # word level: a word seen once in training is an unknown word ([UNK])


def make_tokenizer(spec, text):
    """The tokenizer a recipe's ``tokenizer:`` section (with overrides) asks for, trained on ``text``.

    ``spec`` keys: ``kind`` (``char``, ``word`` or ``bpe``), ``vocab_size`` (bpe), ``min_count`` and
    ``lowercase`` (word: the vocabulary is every token seen at least ``min_count`` times in ``text``;
    every other word of any later text maps to ``[UNK]``).

    Example:
        >>> make_tokenizer({"kind": "word", "min_count": 2}, "a b a b c\n").vocabulary
        ['[UNK]', 'a', 'b']
    """
    kind = spec.get("kind", "char")
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "bpe":
        return ByteBPETokenizer.train(text, vocab_size=int(spec.get("vocab_size", 512)))
    if kind == "word":
        return word_tokenizer(text, int(spec.get("min_count", DEFAULT_MIN_COUNT)), bool(spec.get("lowercase", False)))
    raise UserInputError(f"unknown tokenizer kind {kind!r}; use one of {', '.join(TOKENIZER_KINDS)}")


def word_tokenizer(text, min_count, lowercase=False):
    """A :class:`WordTokenizer` over the tokens of ``text`` seen at least ``min_count`` times.

    Raises:
        UserInputError: no word reaches ``min_count`` (the vocabulary would be ``[UNK]`` and line breaks only).
    """
    tokenizer = WordTokenizer.train(text, min_frequency=min_count, lowercase=lowercase)
    words = [token for token in tokenizer.vocabulary if token not in ("[UNK]", "\n")]
    if not words:
        raise UserInputError(f"word vocabulary is empty: no word occurs at least min_count={min_count} times in the "
                             f"training text; lower min_count or use a longer corpus")
    return tokenizer


def tokenizer_spec(recipe, overrides):
    """The recipe's ``tokenizer:`` section with ``overrides`` on top (what run.json records)."""
    return {**recipe.get("tokenizer", {}), **(overrides or {})}


def corpus_token_ids(recipe, corpus, run_dir, tokenizer_overrides, tokenizer=None):
    """Read the corpus, train (or, resuming, reload; or take the pretrained model's ``tokenizer``) the
    run's tokenizer and encode the corpus.

    Returns:
        ``(corpus_path, data_sha256, tokenizer, token_ids int32 (num_tokens,), tokenizer spec)``.
    """
    corpus_path = _corpus_path(recipe, corpus)
    text = read_text(corpus_path)  # says in one line what is wrong with the file, if anything
    fingerprint = check_resumed_data(run_dir, corpus_path)
    tokenizer_dir = run_paths(run_dir)["tokenizer"]
    spec = tokenizer_spec(recipe, tokenizer_overrides)
    if os.path.isdir(tokenizer_dir):  # resuming: the ids must mean what they meant
        tokenizer = load_tokenizer(tokenizer_dir)
    elif tokenizer is None:
        tokenizer = make_tokenizer(spec, text)
    token_ids = np.asarray(tokenizer.encode(text), dtype=np.int32)
    return corpus_path, fingerprint, tokenizer, token_ids, spec


def open_language_model_run(recipe_name, run_dir, model, tokenizer, token_count, corpus_path, log=print):
    """What every language-model recipe does before training: one line about the model and data,
    the run directory created, the tokenizer saved into it (GPT and RNN LM runs alike)."""
    log(f"{recipe_name}: {parameter_count(model) / 1e6:.2f}M parameters, vocabulary {tokenizer.vocab_size}, "
        f"{token_count:,} tokens from {corpus_path}; run directory {run_dir}")
    os.makedirs(run_dir, exist_ok=True)
    tokenizer.save(run_paths(run_dir)["tokenizer"])


@run_lifecycle("gpt")
def train_gpt_run(recipe_name, run_dir=None, corpus=None, training_overrides=None, model_overrides=None,
                  tokenizer_overrides=None, verbose=1, log=print, init_from=None):
    """Train recipe ``recipe_name``; returns ``(run_dir, history)``.

    ``init_from`` (or the recipe's ``init_from:``): a Hugging Face GPT-2 directory, ``package:<module>``
    or a GPT run to fine-tune on ``corpus``; the model keeps its shape and tokenizer, and trains on
    windows of the recipe's ``max_length`` (``model_overrides["max_length"]``), at most its context.
    Re-running with the same ``run_dir`` resumes from the last backup.
    """
    recipe = load_recipe(recipe_name)
    if recipe.get("model") != "gpt":
        raise UserInputError(f"recipe {recipe_name!r} is not a GPT recipe")
    init_from = init_from or recipe.get("init_from")
    init_from = resolve_model_directory(init_from) if init_from else None
    model, model_config, tokenizer, window = _starting_model(recipe, init_from, model_overrides, tokenizer_overrides)
    corpus_path, fingerprint, tokenizer, token_ids, spec = corpus_token_ids(recipe, corpus, run_dir,
                                                                           tokenizer_overrides, tokenizer)
    training = TrainingConfig(**{**recipe["training"], **(training_overrides or {})})
    keras.utils.set_random_seed(training.seed)
    if model is None:
        model_config = GPTConfig(vocab_size=tokenizer.vocab_size, **model_config)
        model = build_gpt(model_config)
    open_language_model_run(recipe_name, run_dir, model, tokenizer, len(token_ids), corpus_path, log)
    lora_from_settings(model, training, log=log)  # the tied embedding/head is frozen with the rest
    sample = recipe.get("sample", {})
    run_info = {"recipe": recipe_name, "version": recipe.get("version", 1), "model": "gpt",
                "corpus": os.path.abspath(corpus_path), "data_sha256": fingerprint, "tokenizer": spec,
                "model_config": vars(model_config),
                "training": vars(training), "sample": sample}
    if init_from:
        run_info.update(init_from=os.path.abspath(init_from), sequence_length=window,
                        tokenizer={"kind": "pretrained", "class": type(tokenizer).__name__})
    write_run_info(run_dir, run_info)

    sample_options = decoding_options(sample, seed=training.seed)

    def sample_fn():
        return generate(model, tokenizer, sample.get("prompt", "\n"), sample_options)

    started = time.time()
    # A recipe may leave the sample out of training (`sample: during_training: false`) when every second
    # counts: a 300-token sample costs ~0.06 s per evaluation on a 2-core CPU (the gpt-shakespeare-char-muon recipe).
    during_training = sample.get("during_training", True)
    history = train_language_model(model, token_ids, run_dir, training,
                                   sample_fn=sample_fn if during_training else None, verbose=verbose,
                                   vocabulary=tokenizer.vocabulary, sequence_length=window)
    log(f"trained {steps_trained(run_dir, training.steps)} steps in {time.time() - started:.0f}s; "
        f"final val loss {history.history['val_loss'][-1]:.4f}")
    return run_dir, history


def _starting_model(recipe, init_from, model_overrides, tokenizer_overrides):
    """``(model, config, tokenizer, window)``: the pretrained ``init_from`` (its config and tokenizer;
    ``window`` the training window), or ``(None, the recipe's config settings, None, None)``."""
    settings = {**recipe["model_config"], **(model_overrides or {})}
    if not init_from:
        return None, settings, None, None
    kept = sorted(set(model_overrides or {}) - {"max_length"}) + sorted(tokenizer_overrides or {})
    if kept:
        raise UserInputError(f"{', '.join(kept)}: the pretrained model {init_from} keeps its own shape and "
                             "tokenizer; leave them out (max_length sets the training window)")
    model, tokenizer, config = pretrained_gpt(init_from)
    requested = (model_overrides or {}).get("max_length")
    if requested and requested > config.max_length:
        raise UserInputError(f"max_length {requested} is longer than the context of {init_from} "
                             f"({config.max_length} positions)")
    return model, config, tokenizer, training_window(config, settings.get("max_length"))


def decoding_options(sample, **overrides):
    """The ``DecodingOptions`` of a recipe's ``sample:`` section (its ``prompt`` aside), with ``overrides``
    on top. What the recipe leaves out takes DecodingOptions' defaults; a GPT recipe samples unless
    it says otherwise. The one place the CLI, the training samples and the export get them from.

    Example:
        >>> decoding_options({"max_new_tokens": 300, "temperature": 0.8, "top_k": 200}, seed=1)
    """
    settings = {key: value for key, value in dict(sample or {}).items() if key not in ("prompt", "during_training")}
    return DecodingOptions(**{"strategy": "sample", **settings, **overrides})


def load_gpt_run(run_dir, which="best"):
    """``(model, tokenizer, run_info)`` of a trained run; ``which`` is "best" or "final"."""
    return load_trained_run(run_dir, "gpt", which)
