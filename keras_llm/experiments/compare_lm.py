"""Compare language models (GPT, LSTM, GRU, N-gram) on one corpus, tokenizer, split and budget.

``compare_language_models(corpus, settings)`` trains every model on the same training tokens and
scores it on the same validation tokens, then writes ``report.md`` (table, settings, one sample
per model), ``report.png`` (validation loss vs steps and vs wall time) and ``results.json``.

The pieces, one module each:

- :mod:`~keras_llm.experiments.lm_tokens`: the shared tokenizer and 90/10 split, and the stream
  the trainer is given (it re-splits exactly at the end of the training ids).
- :mod:`~keras_llm.experiments.lm_sizing`: GPT depth/width and RNN units within ±25% of the
  requested parameter count, counted on built models (exact counts are reported).
- :mod:`~keras_llm.experiments.lm_runs`: one model's training (same seed, batches and schedule;
  a step or wall-clock budget), scores and sample.
- :mod:`~keras_llm.experiments.lm_scoring`: the two validation losses, on the same tokens for all.
- :mod:`~keras_llm.experiments.lm_report`: report.md, report.png, results.json.
"""

import dataclasses
import hashlib
import importlib
import math
import os
import platform
import time

import keras

from keras_llm.checks import positive_int
from keras_llm.data import read_text
from keras_llm.errors import UserInputError
from keras_llm.experiments.lm_report import plot_curves, render_report, write_report  # noqa: F401
from keras_llm.experiments.lm_runs import ModelResult, run_neural, run_ngram
from keras_llm.experiments.lm_scoring import trainer_validation_windows
from keras_llm.experiments.lm_sizing import choose_gpt, choose_rnn, neural_config  # noqa: F401
from keras_llm.experiments.lm_tokens import TOKENIZERS, share_tokens, split_and_tokenize  # noqa: F401
from keras_llm.experiments.model_names import parse_model_names
from keras_llm.training import TrainingConfig

NEURAL_MODELS = ("gpt", "lstm", "gru")
MODELS = NEURAL_MODELS + ("ngram",)
DEFAULT_NGRAM_ORDER = {"char": 5, "word": 3, "bpe": 3}
DEFAULT_STEPS = 2000
# A time budget has no step count for the cosine schedule; this horizon keeps the rate at its peak.
TIME_BUDGET_STEPS = 10**7

__all__ = ["LMComparisonSettings", "MODELS", "ModelResult", "compare_language_models", "parse_models"]


def parse_models(models):
    """``"a,b"`` or a sequence of names → a tuple of distinct names from ``MODELS``."""
    return parse_model_names(models, MODELS)


@dataclasses.dataclass
class LMComparisonSettings:
    """Everything a language-model comparison is run with; checked, and its defaults filled, on creation.

    Args:
        tokenizer: ``"char"``, ``"word"`` or ``"bpe"`` (byte-level BPE of ``bpe_vocab_size``).
        valid_path: a held-out UTF-8 text file that validates every model (then the whole corpus
            trains, and the vocabulary comes from it alone); None = the last 10% of the corpus.
        min_count: word level: tokens seen fewer times in the training text are ``[UNK]``.
        models: names from ``gpt, lstm, gru, ngram`` (a comma-separated string or a sequence;
            kept as a tuple).
        params: target parameter count of every neural model (±25%); None = the baby GPT
            (4 layers, 4 heads, 128 wide) with the RNNs matched to its count.
        steps: optimizer steps per neural model (2000 when ``minutes`` is not given).
        minutes: wall-clock training time per neural model instead of a step count.
        out_dir: where ``report.md``, ``report.png``, ``results.json`` and ``runs/<model>`` go.
        sequence_length: training window, GPT context and scoring window.
        batch_size, learning_rate, eval_batches, seed: training settings shared by all neural models.
        ngram_order: N of the N-gram model (default 5 for char, 3 for word and bpe).
        eval_interval: steps between evaluations (default ``steps // 10``; 100 for a time budget).
        prompt, sample_tokens, temperature: the sample every model writes (same seed for all).
        jit_compile: XLA for training and GPT sampling; None = the trainer's choice (GPT yes, RNNs no).
        verbose: Keras verbosity of training.

    Example:
        >>> settings = LMComparisonSettings(models="gpt,ngram", steps=500, out_dir="runs/compare")
        >>> settings.models, settings.eval_interval, settings.ngram_order
        (('gpt', 'ngram'), 50, 5)
    """

    tokenizer: str = "char"
    valid_path: str | None = None
    min_count: int = 2
    models: tuple = MODELS
    params: int | None = None
    steps: int | None = None
    minutes: float | None = None
    out_dir: str = "runs/compare"
    sequence_length: int = 64
    batch_size: int = 12
    seed: int = 1337
    ngram_order: int | None = None
    eval_interval: int | None = None
    eval_batches: int = 20
    learning_rate: float = 1e-3
    bpe_vocab_size: int = 512
    prompt: str = "\n"
    sample_tokens: int = 200
    temperature: float = 0.8
    jit_compile: bool | None = None
    verbose: int = 0
    command: str | None = None  # how the caller spells this run (the CLI gives its command line)

    def __post_init__(self):
        self.models = parse_models(self.models)
        if self.tokenizer not in TOKENIZERS:
            raise UserInputError(f"unknown tokenizer {self.tokenizer!r}; choose from {', '.join(TOKENIZERS)}")
        self._check_budget()
        self.params = None if self.params is None else positive_int("params", self.params)
        self.sequence_length = positive_int("sequence length", self.sequence_length)
        self.batch_size = positive_int("batch size", self.batch_size)
        self.eval_batches = positive_int("eval batches", self.eval_batches)
        self.sample_tokens = positive_int("sample tokens", self.sample_tokens)
        self.min_count = positive_int("min_count", self.min_count)
        self.ngram_order = positive_int(
            "n-gram order", DEFAULT_NGRAM_ORDER[self.tokenizer] if self.ngram_order is None else self.ngram_order)
        self.eval_interval = positive_int(
            "eval interval", self.eval_interval or (max(1, self.steps // 10) if self.steps else 100))

    def _check_budget(self):
        if self.steps is not None and self.minutes is not None:
            raise UserInputError("give either steps or minutes, not both")
        if self.minutes is not None:
            if not (isinstance(self.minutes, (int, float)) and math.isfinite(self.minutes) and self.minutes > 0):
                raise UserInputError(f"minutes must be a positive number; got {self.minutes!r}")
            self.minutes = float(self.minutes)
        else:
            self.steps = positive_int("steps", DEFAULT_STEPS if self.steps is None else self.steps)

    def training_config(self):
        """The :class:`TrainingConfig` every neural model trains with."""
        steps = self.steps or TIME_BUDGET_STEPS
        return TrainingConfig(
            steps=steps, batch_size=self.batch_size, learning_rate=self.learning_rate,
            min_learning_rate=self.learning_rate / 10, warmup_steps=min(100, steps // 10), weight_decay=0.1,
            eval_interval=self.eval_interval, eval_batches=self.eval_batches, seed=self.seed,
            jit_compile=self.jit_compile)


def compare_language_models(corpus, settings=None, log=print, **fields):
    """Train and score every model of ``settings.models`` on ``corpus``; write the report into ``settings.out_dir``.

    Args:
        corpus: path of a UTF-8 text file.
        settings: an :class:`LMComparisonSettings` (None: the defaults).
        log: progress messages.
        **fields: instead of ``settings``, its fields as keywords (the form of earlier releases:
            ``compare_language_models(corpus, steps=500)``).

    Returns:
        dict with ``report`` (path of report.md), ``plot``, ``results`` (list of :class:`ModelResult`)
        and ``settings`` (the dict written to results.json).
    """
    began = time.perf_counter()
    if settings is not None and fields:
        raise UserInputError("compare_language_models: pass either settings or keyword fields, not both")
    settings = settings or LMComparisonSettings(**fields)
    text = read_text(corpus)
    valid_text = None if settings.valid_path is None else read_text(settings.valid_path)
    tokens = share_tokens(text, settings.tokenizer, settings.sequence_length, settings.bpe_vocab_size,
                          valid_text=valid_text, min_count=settings.min_count)
    if "ngram" in settings.models and len(tokens.train_ids) < settings.ngram_order:
        raise UserInputError(f"corpus too small: {len(tokens.train_ids)} training tokens for an n-gram order of "
                             f"{settings.ngram_order}")
    # Sizes first, so an impossible --params fails before anything trains.
    configs = {name: neural_config(name, tokens.vocab_size, settings.sequence_length, settings.params)
               for name in settings.models if name in NEURAL_MODELS}
    windows = trainer_validation_windows(tokens.trainer_valid_ids, settings.sequence_length, settings.batch_size,
                                         settings.eval_batches)
    where = f"from {settings.valid_path}" if settings.valid_path else "(last 10% of the corpus)"
    log(f"compare: {len(text):,} characters → {len(tokens.train_ids):,} training / {len(tokens.valid_ids):,} "
        f"validation {settings.tokenizer} tokens {where}, vocabulary {tokens.vocab_size}")
    training = settings.training_config()
    results = []
    for name in settings.models:
        if name == "ngram":
            results.append(run_ngram(tokens, windows, settings))
        else:
            results.append(run_neural(name, configs[name], tokens, settings, training))
        r = results[-1]
        log(f"compare: {name}: {r.params:,} parameters, {r.train_seconds:.1f}s, val loss {r.val_loss:.4f}, "
            f"all val tokens {r.val_loss_all:.4f}")
    record = settings_record(corpus, text, tokens, settings, training)
    paths = write_report(settings.out_dir, results, record, began)
    log(f"compare: wrote {paths['report']} and {paths['plot']} ({record['total_seconds']:.0f}s in all)")
    return {**paths, "results": results, "settings": record}


def settings_record(corpus, text, tokens, settings, training):
    """The settings as written to results.json and listed in report.md (what a reader needs to reproduce)."""
    s, names = settings, settings.models
    return {
        "corpus": os.path.abspath(os.fspath(corpus)), "corpus_characters": len(text),
        "corpus_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "valid_path": None if s.valid_path is None else os.path.abspath(os.fspath(s.valid_path)),
        "tokenizer": s.tokenizer, "min_count": s.min_count if s.tokenizer == "word" else None,
        "vocab_size": tokens.vocab_size, "train_tokens": len(tokens.train_ids),
        "valid_tokens": len(tokens.valid_ids), "trainer_valid_tokens": len(tokens.trainer_valid_ids),
        "models": list(names), "params": s.params, "steps": s.steps, "minutes": s.minutes,
        "sequence_length": s.sequence_length, "batch_size": s.batch_size, "learning_rate": s.learning_rate,
        "min_learning_rate": training.min_learning_rate, "warmup_steps": training.warmup_steps,
        "schedule_steps": training.steps, "weight_decay": training.weight_decay,
        "eval_interval": training.eval_interval, "eval_batches": s.eval_batches, "seed": s.seed,
        "jit_compile": "auto (GPT yes, RNNs no)" if s.jit_compile is None else s.jit_compile,
        "ngram_order": s.ngram_order if "ngram" in names else None,
        "bpe_vocab_size": s.bpe_vocab_size if s.tokenizer == "bpe" else None, "prompt": s.prompt,
        "sample_tokens": s.sample_tokens, "temperature": s.temperature,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs visible",
        "versions": f"tensorflow {_version('tensorflow')}, keras {keras.__version__}",
        "command": settings.command or f"compare_language_models({os.fspath(corpus)!r}, settings)",
    }


def _version(module):
    return getattr(importlib.import_module(module), "__version__", "?")
