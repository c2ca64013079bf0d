"""Train a GPT recipe into a run directory, and load a run back.

A run directory holds ``run.json`` (recipe, model and training settings), ``tokenizer/``,
``best.keras`` (lowest validation loss), ``final.keras``, ``backup/`` (for resuming) and
``logs/`` (TensorBoard).
"""

import os
import time

import keras
import numpy as np

from keras_llm.data import read_text
from keras_llm.errors import UserInputError
from keras_llm.generation import DecodingOptions, generate
from keras_llm.models import GPTConfig, build_gpt, parameter_count
from keras_llm.runs.layout import check_resumed_data, load_trained_run, steps_trained, write_run_info
from keras_llm.runs.lifecycle import run_lifecycle
from keras_llm.runs.recipes import bundled_data_file, load_recipe
from keras_llm.tokenizers import ByteBPETokenizer, CharTokenizer, load_tokenizer
from keras_llm.training import TrainingConfig, train_language_model
from keras_llm.training.run_callbacks import run_paths


def _corpus_path(recipe, corpus):
    path = corpus or recipe["corpus"]
    return path if corpus else bundled_data_file(path)


def _make_tokenizer(spec, text):
    kind = spec.get("kind", "char")
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "bpe":
        return ByteBPETokenizer.train(text, vocab_size=int(spec.get("vocab_size", 512)))
    raise UserInputError(f"unknown tokenizer kind {kind!r}; use 'char' or 'bpe'")


@run_lifecycle("gpt")
def train_gpt_run(recipe_name, run_dir=None, corpus=None, training_overrides=None, model_overrides=None,
                  tokenizer_overrides=None, verbose=1, log=print):
    """Train recipe ``recipe_name``; returns ``(run_dir, history)``.

    Re-running with the same ``run_dir`` resumes from the last backup.
    """
    recipe = load_recipe(recipe_name)
    if recipe.get("model") != "gpt":
        raise UserInputError(f"recipe {recipe_name!r} is not a GPT recipe")
    corpus_path = _corpus_path(recipe, corpus)
    text = read_text(corpus_path)  # says in one line what is wrong with the file, if anything
    fingerprint = check_resumed_data(run_dir, corpus_path)
    tokenizer_dir = run_paths(run_dir)["tokenizer"]
    if os.path.isdir(tokenizer_dir):  # resuming: the ids must mean what they meant
        tokenizer = load_tokenizer(tokenizer_dir)
    else:
        tokenizer = _make_tokenizer({**recipe.get("tokenizer", {}), **(tokenizer_overrides or {})}, text)
    token_ids = np.asarray(tokenizer.encode(text), dtype=np.int32)
    model_config = GPTConfig(vocab_size=tokenizer.vocab_size,
                             **{**recipe["model_config"], **(model_overrides or {})})
    training = TrainingConfig(**{**recipe["training"], **(training_overrides or {})})
    keras.utils.set_random_seed(training.seed)
    model = build_gpt(model_config)
    log(f"{recipe_name}: {parameter_count(model) / 1e6:.2f}M parameters, vocabulary {tokenizer.vocab_size}, "
        f"{len(token_ids):,} tokens from {corpus_path}; run directory {run_dir}")
    os.makedirs(run_dir, exist_ok=True)
    tokenizer.save(tokenizer_dir)
    sample = recipe.get("sample", {})
    run_info = {"recipe": recipe_name, "version": recipe.get("version", 1), "model": "gpt",
                "corpus": os.path.abspath(corpus_path), "data_sha256": fingerprint, "model_config": vars(model_config),
                "training": vars(training), "sample": sample}
    write_run_info(run_dir, run_info)

    sample_options = decoding_options(sample, seed=training.seed)

    def sample_fn():
        return generate(model, tokenizer, sample.get("prompt", "\n"), sample_options)

    started = time.time()
    history = train_language_model(model, token_ids, run_dir, training, sample_fn=sample_fn, verbose=verbose,
                                   vocabulary=tokenizer.vocabulary)
    log(f"trained {steps_trained(run_dir, training.steps)} steps in {time.time() - started:.0f}s; "
        f"final val loss {history.history['val_loss'][-1]:.4f}")
    return run_dir, history


def decoding_options(sample, **overrides):
    """The ``DecodingOptions`` of a recipe's ``sample:`` section (its ``prompt`` aside), with ``overrides``
    on top. What the recipe leaves out takes DecodingOptions' defaults; a GPT recipe samples unless
    it says otherwise. The one place the CLI, the training samples and the export get them from.

    Example:
        >>> decoding_options({"max_new_tokens": 300, "temperature": 0.8, "top_k": 200}, seed=1)
    """
    settings = {key: value for key, value in dict(sample or {}).items() if key != "prompt"}
    return DecodingOptions(**{"strategy": "sample", **settings, **overrides})


def load_gpt_run(run_dir, which="best"):
    """``(model, tokenizer, run_info)`` of a trained run; ``which`` is "best" or "final"."""
    return load_trained_run(run_dir, "gpt", which)
