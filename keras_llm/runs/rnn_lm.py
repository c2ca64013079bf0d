"""Train an RNN language-model recipe (LSTM or GRU, ``model: rnn_lm``) into a run directory, and load it back.

The run directory has the layout of a GPT run (``run.json``, ``tokenizer/``, ``best.keras``,
``final.keras``, ``backup/``, ``logs/``), so `evaluate`, `generate`, `predict` and `export` treat
both alike. An RNN has no context limit of its own; ``sequence_length`` (the training window, also
recorded in run.json) is the window `evaluate` scores with, so a test file is scored the way the
model was trained (the state restarts at each window).

Example:
    >>> run_dir, history = train_rnn_lm_run("lstm-lm", corpus="train.txt", tokenizer_overrides={"kind": "word"})
"""

import os
import time

import keras

from keras_llm.errors import UserInputError
from keras_llm.models import RNNConfig, build_rnn_lm
from keras_llm.runs.gpt import corpus_token_ids, open_language_model_run
from keras_llm.runs.layout import load_trained_run, write_run_info
from keras_llm.runs.lifecycle import run_lifecycle
from keras_llm.runs.recipes import load_recipe
from keras_llm.training import TrainingConfig, train_language_model
from keras_llm.training.lora import lora_from_settings

RNN_LM = "rnn_lm"  # the recipes' and run.json's ``model:`` value


def rnn_model_config(recipe, vocab_size, overrides=None):
    """The recipe's ``model_config`` (with ``overrides``) as an :class:`RNNConfig`, and the training window
    ``sequence_length`` (``max_length`` overrides it). ``hidden_dim`` sets the state width, and the
    embedding width too where the recipe has the two equal (so a tied head keeps no projection)."""
    settings = {**recipe["model_config"], **(overrides or {})}
    sequence_length = settings.pop("sequence_length", 64)
    sequence_length = int(settings.pop("max_length", sequence_length))  # the shared --max-length flag
    if "hidden_dim" in settings:  # the state width; the embedding follows where the recipe has them equal
        width = int(settings.pop("hidden_dim"))
        if recipe["model_config"].get("embedding_dim") == recipe["model_config"].get("units"):
            settings["embedding_dim"] = width
        settings["units"] = width
    return RNNConfig(vocab_size=vocab_size, **settings), sequence_length


@run_lifecycle(RNN_LM)
def train_rnn_lm_run(recipe_name, run_dir=None, corpus=None, training_overrides=None, model_overrides=None,
                     tokenizer_overrides=None, verbose=1, log=print):
    """Train RNN LM recipe ``recipe_name`` on ``corpus`` (default the recipe's); returns ``(run_dir, history)``.

    Re-running with the same ``run_dir`` resumes from the last backup.
    """
    recipe = load_recipe(recipe_name)
    if recipe.get("model") != RNN_LM:
        raise UserInputError(f"recipe {recipe_name!r} is not an RNN language-model recipe")
    corpus_path, fingerprint, tokenizer, token_ids, spec = corpus_token_ids(recipe, corpus, run_dir,
                                                                           tokenizer_overrides)
    model_config, sequence_length = rnn_model_config(recipe, tokenizer.vocab_size, model_overrides)
    training = TrainingConfig(**{**recipe["training"], **(training_overrides or {})})
    keras.utils.set_random_seed(training.seed)
    model = build_rnn_lm(model_config)
    open_language_model_run(recipe_name, run_dir, model, tokenizer, len(token_ids), corpus_path, log)
    lora_from_settings(model, training, log=log)  # refused in one line: an RNN has no projections to adapt
    run_info = {"recipe": recipe_name, "version": recipe.get("version", 1), "model": RNN_LM,
                "corpus": os.path.abspath(corpus_path), "data_sha256": fingerprint, "tokenizer": spec,
                "model_config": vars(model_config), "sequence_length": sequence_length,
                "training": vars(training), "sample": recipe.get("sample", {})}
    write_run_info(run_dir, run_info)
    started = time.time()
    history = train_language_model(model, token_ids, run_dir, training, verbose=verbose,
                                   sequence_length=sequence_length)
    log(f"trained {training.steps} steps in {time.time() - started:.0f}s; "
        f"final val loss {history.history['val_loss'][-1]:.4f}")
    return run_dir, history


def load_rnn_lm_run(run_dir, which="best"):
    """``(model, tokenizer, run_info)`` of a trained RNN LM run; ``which`` is "best" or "final"."""
    return load_trained_run(run_dir, RNN_LM, which)
