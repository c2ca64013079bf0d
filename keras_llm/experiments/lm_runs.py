"""One compared language model's run: train it (or count its n-grams), score it, sample from it.

Neural models train with ``train_language_model`` under one budget (steps, or wall time through
:class:`~keras_llm.training.callbacks.TimeLimit`), same seed, same batches, same schedule;
``settings`` is the comparison's :class:`~keras_llm.experiments.compare_lm.LMComparisonSettings`.
"""

import dataclasses
import math
import os
import shutil
import time

import keras

from keras_llm.experiments.lm_scoring import neural_stream_loss, ngram_stream_loss, ngram_window_loss
from keras_llm.experiments.lm_sizing import build_neural
from keras_llm.generation import DecodingOptions, generate
from keras_llm.generation.generate import default_start_token_id
from keras_llm.generation.rnn_sampling import sample_rnn_lm
from keras_llm.models import NGramLanguageModel, parameter_count
from keras_llm.training import train_language_model
from keras_llm.training.callbacks import TimeLimit


@dataclasses.dataclass
class ModelResult:
    """One row of the report."""

    name: str
    params: int
    config: dict
    train_seconds: float
    steps: int | None = None
    val_loss: float = math.nan
    val_loss_all: float = math.nan
    curve_steps: list = dataclasses.field(default_factory=list)
    curve_seconds: list = dataclasses.field(default_factory=list)
    curve_losses: list = dataclasses.field(default_factory=list)
    stopped_by_time: bool = False
    sample: str = ""


class EvaluationClock(keras.callbacks.Callback):
    """Records the optimizer step and the wall time (``perf_counter``, from training start) of each epoch end."""

    def __init__(self):
        super().__init__()
        self.start = None
        self.steps, self.seconds = [], []

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.steps.append(int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)))
        self.seconds.append(time.perf_counter() - self.start)


def train_neural(model, token_stream, run_dir, config, sequence_length, seconds=None, verbose=0):
    """``train_language_model`` plus a per-evaluation clock and an optional time limit.

    Returns:
        ``(history, clock, time_limit or None, wall seconds)``.
    """
    clock = EvaluationClock()
    limit = TimeLimit(seconds) if seconds else None
    shutil.rmtree(run_dir, ignore_errors=True)  # a stale backup would make the trainer resume
    started = time.perf_counter()
    history = train_language_model(model, token_stream, run_dir, config, verbose=verbose,
                                   sequence_length=sequence_length,
                                   callbacks=[clock] + ([limit] if limit else []))
    return history, clock, limit, time.perf_counter() - started


def sample_text(name, model, tokenizer, settings, jit_compile=True):
    """``settings.sample_tokens`` tokens after ``settings.prompt`` (plain sampling at its temperature), as text."""
    prompt, num_tokens, seed, temperature = settings.prompt, settings.sample_tokens, settings.seed, settings.temperature
    prompt_ids = tokenizer.encode(prompt) or [default_start_token_id(tokenizer)]
    if name == "gpt":
        options = DecodingOptions(strategy="sample", max_new_tokens=num_tokens, temperature=temperature, seed=seed)
        return generate(model, tokenizer, prompt, options, jit_compile=jit_compile)
    if name == "ngram":
        return tokenizer.decode(model.sample(prompt_ids, num_tokens, seed=seed, temperature=temperature))
    return tokenizer.decode(sample_rnn_lm(model, prompt_ids, num_tokens, seed=seed, temperature=temperature))


def run_ngram(tokens, windows, settings):
    """Fit the (modified Kneser–Ney) N-gram model of order ``settings.ngram_order`` and score it."""
    started = time.perf_counter()
    lm = NGramLanguageModel(settings.ngram_order).fit(tokens.train_ids, tokens.vocab_size)
    fit_seconds = time.perf_counter() - started
    return ModelResult(
        name="ngram", params=lm.num_parameters, train_seconds=fit_seconds,
        config={"order": settings.ngram_order, "smoothing": lm.smoothing,
                "discounts": {f"{order}-{kind}": [round(d, 4) for d in values]
                              for (order, kind), values in sorted(lm.discounts.items())}},
        val_loss=ngram_window_loss(lm, windows), val_loss_all=ngram_stream_loss(lm, tokens.valid_ids),
        sample=sample_text("ngram", lm, tokens.tokenizer, settings))


def run_neural(name, config, tokens, settings, training):
    """Build model ``name`` from ``config``, train it with ``training`` (a ``TrainingConfig``), score it."""
    keras.utils.set_random_seed(settings.seed)
    model = build_neural(config, name)
    history, clock, limit, seconds = train_neural(
        model, tokens.stream, os.path.join(settings.out_dir, "runs", name), training, settings.sequence_length,
        seconds=settings.minutes * 60 if settings.minutes else None, verbose=settings.verbose)
    losses = [float(v) for v in history.history["val_loss"]]
    return ModelResult(
        name=name, params=parameter_count(model), config=dataclasses.asdict(config), train_seconds=seconds,
        steps=clock.steps[-1], val_loss=losses[-1],
        val_loss_all=neural_stream_loss(model, tokens.valid_ids, settings.sequence_length, tokens.vocab_size),
        curve_steps=clock.steps, curve_seconds=clock.seconds, curve_losses=losses,
        stopped_by_time=bool(limit and limit.stopped),
        sample=sample_text(name, model, tokens.tokenizer, settings, jit_compile=training.jit_compile is not False))
