"""Compare language models (GPT, LSTM, GRU, N-gram) on one corpus, tokenizer, split and budget.

``compare_language_models`` trains every model on the same training tokens and scores it on
the same validation tokens, then writes ``report.md`` (table, settings, one sample per model),
``report.png`` (validation loss vs steps and vs wall time) and ``results.json``.

What is shared, and how:

- The split is by position: the first 90% of the corpus *characters* train the tokenizer and
  the models, the last 10% validate. Each part is tokenized on its own, so no token straddles
  the boundary. The tokenizer never sees the validation text.
- ``train_language_model`` re-splits the ids it is given with ``split_train_validation`` (90/10
  by token position). It is given ``train_ids + valid_ids[:k]`` with ``k`` chosen so that its cut
  falls exactly at the end of ``train_ids`` (checked), so it trains on exactly the training ids.
- "val loss" is the trainer's final evaluation: the mean cross-entropy over its fixed set of
  ``eval_batches * batch_size`` random validation windows (seed 1337). The N-gram model is scored
  on the very same windows, each target conditioned only on the tokens of its window.
- "val loss (all val tokens)" scores every validation token after the first exactly once:
  neural models on consecutive non-overlapping windows of ``sequence_length`` (context restarts
  at each window), the N-gram model with its own ``order - 1`` tokens of history.
- Budget: the same number of optimizer steps for every neural model, or the same wall-clock
  time (:class:`~keras_llm.training.callbacks.TimeLimit`). Same seed, same batches, same schedule.
- Sizes: GPT depth/width and RNN units are picked from small grids so every neural model is
  within ±25% of the requested parameter count (exact counts are reported).
"""

import dataclasses
import hashlib
import json
import math
import os
import platform
import shutil
import time

import keras
import numpy as np

from keras_llm.data import read_text, split_train_validation, validation_dataset
from keras_llm.errors import UserInputError
from keras_llm.experiments.model_names import parse_model_names, positive_int
from keras_llm.generation import generate
from keras_llm.generation.generate import default_start_token_id
from keras_llm.models import GPTConfig, NGramLanguageModel, RNNConfig, build_gpt, build_rnn_lm, parameter_count
from keras_llm.models.rnn import rnn_lm_initial_state, rnn_lm_step
from keras_llm.tokenizers import ByteBPETokenizer, CharTokenizer, WordTokenizer
from keras_llm.training import TrainingConfig, train_language_model
from keras_llm.training.callbacks import TimeLimit

NEURAL_MODELS = ("gpt", "lstm", "gru")
MODELS = NEURAL_MODELS + ("ngram",)
TOKENIZERS = ("char", "word", "bpe")
DEFAULT_NGRAM_ORDER = {"char": 5, "word": 3, "bpe": 3}
TRAIN_FRACTION = 0.9
TOLERANCE = 0.25
BABY_GPT = {"num_layers": 4, "num_heads": 4, "hidden_dim": 128}  # nanoGPT's CPU baby GPT (~0.8M at vocab 65)
RNN_LAYERS = 2
# A time budget has no step count for the cosine schedule; this horizon keeps the rate at its peak.
TIME_BUDGET_STEPS = 10**7
UNKNOWN_CHAR = "\ufffd"


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


# ---------------------------------------------------------------------------------------- input checks
def parse_models(models):
    """``"a,b"`` or a sequence of names → a tuple of distinct names from ``MODELS``."""
    return parse_model_names(models, MODELS)


def _check_budget(steps, minutes):
    if steps is not None and minutes is not None:
        raise UserInputError("give either --steps or --minutes, not both")
    if minutes is not None:
        if not (isinstance(minutes, (int, float)) and math.isfinite(minutes) and minutes > 0):
            raise UserInputError(f"minutes must be a positive number; got {minutes!r}")
        return None, float(minutes)
    return positive_int("steps", 2000 if steps is None else steps), None


# ---------------------------------------------------------------------------------------- tokens
def train_tokenizer(kind, text, bpe_vocab_size=512):
    """A tokenizer of ``kind`` trained on ``text`` (the training part of the corpus)."""
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "word":
        return WordTokenizer.train(text, min_frequency=2)
    return ByteBPETokenizer.train(text, vocab_size=bpe_vocab_size)


def split_and_tokenize(text, kind, bpe_vocab_size=512):
    """Cut ``text`` at 90% of its characters, train a tokenizer on the first part, tokenize both.

    Characters of the validation text that the training text lacks map to an unknown token
    (char level; word level has ``[UNK]``, byte-level BPE needs none), so no validation
    token is silently dropped.

    Returns:
        ``(tokenizer, train_ids, valid_ids)`` with int32 id arrays.
    """
    cut = int(len(text) * TRAIN_FRACTION)
    train_text, valid_text = text[:cut], text[cut:]
    if not train_text.strip() or not valid_text.strip():
        raise UserInputError(f"the corpus ({len(text)} characters) is too small to split 90/10")
    tokenizer = train_tokenizer(kind, train_text, bpe_vocab_size)
    if kind == "char" and set(valid_text) - set(train_text):
        tokenizer = CharTokenizer.train(train_text, unknown_token=UNKNOWN_CHAR)
    train_ids = np.asarray(tokenizer.encode(train_text), np.int32)
    valid_ids = np.asarray(tokenizer.encode(valid_text), np.int32)
    return tokenizer, train_ids, valid_ids


def trainer_stream(train_ids, valid_ids):
    """Ids for ``train_language_model`` whose 90/10 re-split gives exactly ``train_ids`` for training.

    Its validation part is the first ``k`` validation ids, the longest prefix that keeps the
    cut in place (the whole validation split when it fits); a validation split shorter than
    the smallest such ``k`` is repeated.

    Returns:
        ``(ids, k)``.
    """
    a = len(train_ids)
    lengths = [n for n in range(max(a, int(a / TRAIN_FRACTION) - 3), int(a / TRAIN_FRACTION) + 4)
               if int(n * TRAIN_FRACTION) == a]
    k_min, k_max = lengths[0] - a, lengths[-1] - a
    valid_part = valid_ids[:min(len(valid_ids), k_max)] if len(valid_ids) >= k_min else np.resize(valid_ids, k_min)
    ids = np.concatenate([train_ids, valid_part]).astype(np.int32)
    check_train, check_valid = split_train_validation(ids, TRAIN_FRACTION)
    assert np.array_equal(check_train, train_ids) and np.array_equal(check_valid, valid_part)
    return ids, len(valid_part)


# ---------------------------------------------------------------------------------------- sizes
def gpt_parameter_count(vocab_size, max_length, hidden_dim, num_layers):
    """Parameters of ``build_gpt`` (tied head, 4x feed-forward): tables, blocks, final LayerNorm."""
    d = hidden_dim
    return vocab_size * d + max_length * d + num_layers * (12 * d * d + 13 * d) + 2 * d


def rnn_parameter_count(cell, vocab_size, embedding_dim, units, num_layers=RNN_LAYERS):
    """Parameters of ``build_rnn_lm`` (untied head; GRU with ``reset_after=True``)."""
    total, width = vocab_size * embedding_dim + units * vocab_size + vocab_size, embedding_dim
    for _ in range(num_layers):
        if cell == "lstm":
            total += 4 * (units * (width + units) + units)
        else:
            total += 3 * units * (width + units) + 6 * units
        width = units
    return total


def _heads(hidden_dim):
    return hidden_dim // 32 if hidden_dim % 32 == 0 and hidden_dim >= 64 else max(1, hidden_dim // 16)


def _within(count, target):
    return abs(count - target) <= TOLERANCE * target


def choose_gpt(target, vocab_size, max_length):
    """GPT width/depth within ±25% of ``target`` parameters, closest to 32 width per layer (baby GPT's shape)."""
    candidates = []
    for d in (16, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 448, 512, 640, 768, 1024):
        for layers in range(1, 13):
            count = gpt_parameter_count(vocab_size, max_length, d, layers)
            if _within(count, target):
                shape = abs(math.log(d / (32 * layers)))
                candidates.append((shape, abs(math.log(count / target)), d, layers))
    if not candidates:
        raise UserInputError(f"no GPT in the search grid has {target:,} parameters ±25% for a vocabulary of "
                             f"{vocab_size}; choose another --params")
    _, _, d, layers = min(candidates)
    return {"max_length": max_length, "num_layers": layers, "num_heads": _heads(d), "hidden_dim": d}


def choose_rnn(cell, target, vocab_size):
    """``RNN_LAYERS``-layer RNN units/embedding width within ±25% of ``target``, embedding near half the units."""
    candidates = []
    for embedding_dim in (16, 32, 64, 128, 256, 512):
        best = min(range(8, 4097, 8), key=lambda u: abs(rnn_parameter_count(cell, vocab_size, embedding_dim, u)
                                                        - target))
        count = rnn_parameter_count(cell, vocab_size, embedding_dim, best)
        if _within(count, target) and embedding_dim <= best:
            candidates.append((abs(math.log(embedding_dim / (best / 2))), embedding_dim, best))
    if not candidates:
        raise UserInputError(f"no {cell.upper()} in the search grid has {target:,} parameters ±25% for a "
                             f"vocabulary of {vocab_size}; choose another --params")
    _, embedding_dim, units = min(candidates)
    return {"cell": cell, "num_layers": RNN_LAYERS, "units": units, "embedding_dim": embedding_dim, "dropout": 0.0}


def neural_config(name, vocab_size, sequence_length, params):
    """The config of model ``name`` sized for ``params`` (None: the baby GPT, RNNs matched to its count)."""
    target = params or gpt_parameter_count(vocab_size, sequence_length, BABY_GPT["hidden_dim"],
                                           BABY_GPT["num_layers"])
    if name == "gpt":
        shape = ({"max_length": sequence_length, **BABY_GPT} if params is None
                 else choose_gpt(target, vocab_size, sequence_length))
        return GPTConfig(vocab_size=vocab_size, dropout=0.0, **shape)
    return RNNConfig(vocab_size=vocab_size, **choose_rnn(name, target, vocab_size))


def build_neural(config, name):
    """A GPT for a :class:`GPTConfig`, an RNN LM for an :class:`RNNConfig`."""
    return build_gpt(config, name=name) if isinstance(config, GPTConfig) else build_rnn_lm(config, name=name)


# ---------------------------------------------------------------------------------------- training
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


# ---------------------------------------------------------------------------------------- scoring
def _token_nll(logits, targets):
    logits = np.asarray(logits, np.float64)
    top = logits.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(logits - top).sum(axis=-1)) + top[..., 0]
    return log_norm - np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]


def neural_stream_loss(model, valid_ids, sequence_length, vocab_size):
    """Mean NLL of ``valid_ids[1:]``, each predicted once from non-overlapping windows of ``sequence_length``."""
    valid_ids = np.asarray(valid_ids, np.int32)
    targets = len(valid_ids) - 1
    full = targets // sequence_length
    windows = [(valid_ids[:full * sequence_length].reshape(full, sequence_length),
                valid_ids[1:full * sequence_length + 1].reshape(full, sequence_length))]
    if targets > full * sequence_length:
        start = full * sequence_length
        windows.append((valid_ids[None, start:-1], valid_ids[None, start + 1:]))
    batch = max(1, 2**22 // (sequence_length * vocab_size))  # ~32 MB of float64 logits per batch
    total = 0.0
    for inputs, outputs in windows:
        for i in range(0, len(inputs), batch):
            logits = model(inputs[i:i + batch], training=False)
            total += float(_token_nll(keras.ops.convert_to_numpy(logits), outputs[i:i + batch]).sum())
    return total / targets


def _ngram_nll_after_first(lm, ids):
    """Summed NLL of ``ids[1:]``, each from at most ``order - 1`` previous ids of ``ids``."""
    return lm.cross_entropy(ids) * len(ids) + lm.log_prob([], int(ids[0]))


def ngram_window_loss(lm, windows):
    """Mean NLL of the targets of the trainer's validation windows, context restricted to each window."""
    total, count = 0.0, 0
    for inputs, targets in windows:
        for x, y in zip(np.asarray(inputs), np.asarray(targets)):
            total += _ngram_nll_after_first(lm, np.concatenate([x, y[-1:]]))
            count += len(y)
    return total / count


def trainer_validation_windows(trainer_valid_ids, sequence_length, batch_size, eval_batches):
    """The trainer's fixed validation windows (same function, same seed)."""
    return [(x.numpy(), y.numpy()) for x, y in
            validation_dataset(trainer_valid_ids, sequence_length, batch_size, eval_batches)]


# ---------------------------------------------------------------------------------------- samples
def _rnn_sample(model, prompt_ids, num_tokens, seed, temperature):
    rng = np.random.default_rng(seed)
    states = rnn_lm_initial_state(model, 1)
    for token in prompt_ids:
        logits, states = rnn_lm_step(model, np.array([token], np.int32), states)
    out = []
    for _ in range(num_tokens):
        scaled = keras.ops.convert_to_numpy(logits)[0].astype(np.float64) / temperature
        probs = np.exp(scaled - scaled.max())
        token = int(rng.choice(len(probs), p=probs / probs.sum()))
        out.append(token)
        logits, states = rnn_lm_step(model, np.array([token], np.int32), states)
    return out


def sample_text(name, model, tokenizer, prompt, num_tokens, seed, temperature, jit_compile=True):
    """``num_tokens`` sampled tokens after ``prompt`` (plain sampling at ``temperature``), as text."""
    prompt_ids = tokenizer.encode(prompt) or [default_start_token_id(tokenizer)]
    if name == "gpt":
        return generate(model, tokenizer, prompt, num_tokens, strategy="sample", temperature=temperature,
                        top_k=0, seed=seed, jit_compile=jit_compile)
    if name == "ngram":
        return tokenizer.decode(model.sample(prompt_ids, num_tokens, seed=seed, temperature=temperature))
    return tokenizer.decode(_rnn_sample(model, prompt_ids, num_tokens, seed, temperature))


# ---------------------------------------------------------------------------------------- the comparison
def compare_language_models(corpus, tokenizer="char", models=MODELS, params=None, steps=None, minutes=None,
                            out_dir="runs/compare", sequence_length=64, batch_size=12, seed=1337,
                            ngram_order=None, eval_interval=None, eval_batches=20, learning_rate=1e-3,
                            bpe_vocab_size=512, prompt="\n", sample_tokens=200, temperature=0.8, jit_compile=None,
                            verbose=0, log=print):
    """Train and score every model in ``models`` on ``corpus``; write the report into ``out_dir``.

    Args:
        corpus: path of a UTF-8 text file.
        tokenizer: ``"char"``, ``"word"`` or ``"bpe"`` (byte-level BPE of ``bpe_vocab_size``).
        models: names from ``gpt, lstm, gru, ngram`` (a comma-separated string or a sequence).
        params: target parameter count of every neural model (±25%); None = the baby GPT
            (4 layers, 4 heads, 128 wide) with the RNNs matched to its count.
        steps: optimizer steps per neural model (default 2000 when ``minutes`` is not given).
        minutes: wall-clock training time per neural model instead of a step count.
        out_dir: where ``report.md``, ``report.png``, ``results.json`` and ``runs/<model>`` go.
        sequence_length: training window, GPT context and scoring window.
        batch_size, learning_rate, eval_batches, seed: training settings shared by all neural models.
        ngram_order: N of the N-gram model (default 5 for char, 3 for word and bpe).
        eval_interval: steps between evaluations (default ``steps // 10``; 100 for a time budget).
        prompt, sample_tokens, temperature: the sample every model writes (same seed for all).
        jit_compile: XLA for training and GPT sampling; None = the trainer's choice (GPT yes, RNNs no).
        verbose: Keras verbosity of training.
        log: progress messages.

    Returns:
        dict with ``report`` (path of report.md), ``plot``, ``results`` (list of :class:`ModelResult`)
        and ``settings``.
    """
    began = time.perf_counter()
    names = parse_models(models)
    if tokenizer not in TOKENIZERS:
        raise UserInputError(f"unknown tokenizer {tokenizer!r}; choose from {', '.join(TOKENIZERS)}")
    steps, minutes = _check_budget(steps, minutes)
    params = None if params is None else positive_int("params", params)
    sequence_length = positive_int("sequence length", sequence_length)
    batch_size = positive_int("batch size", batch_size)
    eval_batches = positive_int("eval batches", eval_batches)
    sample_tokens = positive_int("sample tokens", sample_tokens)
    ngram_order = positive_int("n-gram order", DEFAULT_NGRAM_ORDER[tokenizer] if ngram_order is None else ngram_order)
    eval_interval = positive_int("eval interval", eval_interval or (max(1, steps // 10) if steps else 100))

    text = read_text(corpus)
    tok, train_ids, valid_ids = split_and_tokenize(text, tokenizer, bpe_vocab_size)
    need = max(sequence_length + 1, 2)
    if len(train_ids) < need or len(valid_ids) < need:
        raise UserInputError(
            f"corpus too small: {len(train_ids)} training and {len(valid_ids)} validation tokens, but each split "
            f"needs at least sequence length + 1 = {need}; use a longer corpus or a smaller --sequence-length")
    stream, trainer_valid_count = trainer_stream(train_ids, valid_ids)
    if trainer_valid_count < need:
        raise UserInputError(f"corpus too small: the trainer's validation part has {trainer_valid_count} tokens, "
                             f"fewer than sequence length + 1 = {need}")
    if "ngram" in names and len(train_ids) < ngram_order:
        raise UserInputError(f"corpus too small: {len(train_ids)} training tokens for an n-gram order of {ngram_order}")
    # Sizes first, so an impossible --params fails before anything trains.
    configs = {name: neural_config(name, tok.vocab_size, sequence_length, params) for name in names
               if name in NEURAL_MODELS}
    windows = trainer_validation_windows(stream[len(train_ids):], sequence_length, batch_size, eval_batches)
    log(f"compare: {len(text):,} characters → {len(train_ids):,} training / {len(valid_ids):,} validation "
        f"{tokenizer} tokens, vocabulary {tok.vocab_size}")

    training = TrainingConfig(
        steps=steps or TIME_BUDGET_STEPS, batch_size=batch_size, learning_rate=learning_rate,
        min_learning_rate=learning_rate / 10, warmup_steps=min(100, (steps or TIME_BUDGET_STEPS) // 10),
        weight_decay=0.1, eval_interval=eval_interval, eval_batches=eval_batches, seed=seed,
        jit_compile=jit_compile)
    results = []
    for name in names:
        if name == "ngram":
            results.append(_run_ngram(tok, train_ids, valid_ids, windows, ngram_order, prompt, sample_tokens,
                                      seed, temperature))
        else:
            results.append(_run_neural(name, configs[name], tok, stream, valid_ids, out_dir, training,
                                       sequence_length, minutes, prompt, sample_tokens, seed, temperature, verbose))
        r = results[-1]
        log(f"compare: {name}: {r.params:,} parameters, {r.train_seconds:.1f}s, val loss {r.val_loss:.4f}, "
            f"all val tokens {r.val_loss_all:.4f}")

    settings = {
        "corpus": os.path.abspath(os.fspath(corpus)), "corpus_characters": len(text),
        "corpus_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "tokenizer": tokenizer, "vocab_size": tok.vocab_size, "train_tokens": len(train_ids),
        "valid_tokens": len(valid_ids), "trainer_valid_tokens": trainer_valid_count,
        "models": list(names), "params": params, "steps": steps, "minutes": minutes,
        "sequence_length": sequence_length, "batch_size": batch_size, "learning_rate": learning_rate,
        "min_learning_rate": training.min_learning_rate, "warmup_steps": training.warmup_steps,
        "schedule_steps": training.steps, "weight_decay": training.weight_decay,
        "eval_interval": training.eval_interval, "eval_batches": eval_batches, "seed": seed,
        "jit_compile": "auto (GPT yes, RNNs no)" if jit_compile is None else jit_compile,
        "ngram_order": ngram_order if "ngram" in names else None, "bpe_vocab_size":
            bpe_vocab_size if tokenizer == "bpe" else None, "prompt": prompt, "sample_tokens": sample_tokens,
        "temperature": temperature, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs visible",
        "versions": f"tensorflow {_version('tensorflow')}, keras {keras.__version__}",
        "command": command_line(corpus, tokenizer, names, params, steps, minutes, out_dir, sequence_length,
                                batch_size, seed, ngram_order, eval_interval, eval_batches, jit_compile,
                                sample_tokens),
    }
    os.makedirs(out_dir, exist_ok=True)
    paths = {"report": os.path.join(out_dir, "report.md"), "plot": os.path.join(out_dir, "report.png")}
    plot_curves(results, paths["plot"])
    settings["total_seconds"] = round(time.perf_counter() - began, 1)
    with open(paths["report"], "w", encoding="utf-8") as f:
        f.write(render_report(results, settings))
    with open(os.path.join(out_dir, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"settings": settings, "results": [dataclasses.asdict(r) for r in results]}, f, indent=1)
    log(f"compare: wrote {paths['report']} and {paths['plot']} ({settings['total_seconds']:.0f}s in all)")
    return {**paths, "results": results, "settings": settings}


def _version(module):
    import importlib

    return getattr(importlib.import_module(module), "__version__", "?")


def _run_ngram(tok, train_ids, valid_ids, windows, order, prompt, sample_tokens, seed, temperature):
    started = time.perf_counter()
    lm = NGramLanguageModel(order, smoothing="kneser_ney").fit(train_ids, tok.vocab_size)
    fit_seconds = time.perf_counter() - started
    return ModelResult(
        name="ngram", params=lm.num_parameters, train_seconds=fit_seconds,
        config={"order": order, "smoothing": "kneser_ney", "discount": lm.discount},
        val_loss=ngram_window_loss(lm, windows),
        val_loss_all=_ngram_nll_after_first(lm, valid_ids) / (len(valid_ids) - 1),
        sample=sample_text("ngram", lm, tok, prompt, sample_tokens, seed, temperature))


def _run_neural(name, config, tok, stream, valid_ids, out_dir, training, sequence_length, minutes, prompt,
                sample_tokens, seed, temperature, verbose):
    keras.utils.set_random_seed(seed)
    model = build_neural(config, name)
    history, clock, limit, seconds = train_neural(
        model, stream, os.path.join(out_dir, "runs", name), training, sequence_length,
        seconds=minutes * 60 if minutes else None, verbose=verbose)
    losses = [float(v) for v in history.history["val_loss"]]
    return ModelResult(
        name=name, params=parameter_count(model), config=dataclasses.asdict(config), train_seconds=seconds,
        steps=clock.steps[-1], val_loss=losses[-1],
        val_loss_all=neural_stream_loss(model, valid_ids, sequence_length, tok.vocab_size),
        curve_steps=clock.steps, curve_seconds=clock.seconds, curve_losses=losses,
        stopped_by_time=bool(limit and limit.stopped),
        sample=sample_text(name, model, tok, prompt, sample_tokens, seed, temperature,
                           jit_compile=training.jit_compile is not False))


# ---------------------------------------------------------------------------------------- output
def command_line(corpus, tokenizer, names, params, steps, minutes, out_dir, sequence_length, batch_size, seed,
                 ngram_order, eval_interval, eval_batches, jit_compile=None, sample_tokens=200):
    """The ``keras-llm compare`` command that reproduces these settings."""
    parts = ["keras-llm compare", f"--corpus {corpus}", f"--tokenizer {tokenizer}", f"--models {','.join(names)}"]
    parts += [f"--params {params}"] if params else []
    parts += [f"--steps {steps}"] if steps else [f"--minutes {minutes:g}"]
    parts += [f"--out-dir {out_dir}", f"--sequence-length {sequence_length}", f"--batch-size {batch_size}",
              f"--seed {seed}", f"--eval-interval {eval_interval}", f"--eval-batches {eval_batches}"]
    parts += [f"--ngram-order {ngram_order}"] if "ngram" in names else []
    parts += [f"--sample-tokens {sample_tokens}"] if sample_tokens != 200 else []
    parts += ["--no-jit"] if jit_compile is False else []
    return " ".join(parts)


def _number(value, digits=4):
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _perplexity(loss):
    return math.exp(loss) if math.isfinite(loss) and loss < 700 else math.inf


def render_report(results, settings):
    """The markdown text of report.md."""
    budget = f"{settings['steps']} steps" if settings["steps"] else f"{settings['minutes']:g} minutes"
    lines = [f"# Language-model comparison: {os.path.basename(settings['corpus'])}, {settings['tokenizer']} "
             f"tokens, {budget}", "",
             "| model | params | train time (s) | steps | steps/s | val loss | val perplexity | "
             "val loss (all val tokens) | val perplexity (all val tokens) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        steps_per_second = r.steps / r.train_seconds if r.steps else None
        lines.append(
            f"| {r.name} | {r.params:,} | {r.train_seconds:.1f} | {r.steps if r.steps else '—'}"
            f"{' (time limit)' if r.stopped_by_time else ''} | {_number(steps_per_second, 2)} | "
            f"{_number(r.val_loss)} | "
            f"{_number(_perplexity(r.val_loss), 2)} | {_number(r.val_loss_all)} | "
            f"{_number(_perplexity(r.val_loss_all), 2)} |")
    lines += ["", "Losses are cross-entropies in nats per token on the held-out last 10% of the corpus; "
              "perplexity = exp(loss).", "",
              f"- **val loss**: the trainer's final evaluation, {settings['eval_batches']} batches × "
              f"{settings['batch_size']} fixed random windows of {settings['sequence_length']} tokens (every position "
              "scored); the n-gram model is scored on the same windows, context limited to each window.",
              "- **val loss (all val tokens)**: every validation token after the first scored once; neural models "
              f"read consecutive non-overlapping windows of {settings['sequence_length']} tokens (the context restarts "
              "at each window), the n-gram model its last N−1 tokens.",
              "- **params**: trainable parameters (tied embeddings once); for the n-gram model, the number of "
              "stored n-gram counts (distinct n-grams of orders 1..N).",
              "- **train time**: wall time of training, including graph tracing/compilation, evaluations and "
              "checkpoints; for the n-gram model, counting time. steps/s = steps / train time.", "",
              "![validation loss vs steps and wall time](report.png)", "", "## Settings", "",
              f"Command: `{settings['command']}`", ""]
    skip = {"command"}
    lines += [f"- {key}: {json.dumps(value, ensure_ascii=False)}" for key, value in settings.items() if key not in skip]
    lines += ["", "## Models", ""]
    lines += [f"- **{r.name}**: `{json.dumps(r.config)}`" for r in results]
    lines += ["", "## Samples", "",
              f"{settings['sample_tokens']} tokens per model after the prompt {json.dumps(settings['prompt'])}, plain "
              f"sampling at temperature {settings['temperature']}, seed {settings['seed']}.", ""]
    for r in results:
        lines += [f"### {r.name}", "", "````text", settings["prompt"] + r.sample, "````", ""]
    return "\n".join(lines)


def plot_curves(results, path):
    """Validation loss vs steps and vs wall time, one line per model (the n-gram model as a horizontal line)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    by_steps, by_time = figure.subplots(1, 2)
    for r in results:
        if r.curve_steps:
            by_steps.plot(r.curve_steps, r.curve_losses, marker="o", markersize=3, label=r.name)
            by_time.plot(r.curve_seconds, r.curve_losses, marker="o", markersize=3, label=r.name)
        else:
            for axes in (by_steps, by_time):
                axes.axhline(r.val_loss, color="gray", linestyle="--", label=f"{r.name} (no steps)")
    for axes, label in ((by_steps, "optimizer steps"), (by_time, "wall time since training start (s)")):
        axes.set_xlabel(label)
        axes.set_ylabel("validation loss (nats/token)")
        axes.grid(alpha=0.3)
        axes.legend()
    by_steps.set_title("validation loss vs steps")
    by_time.set_title("validation loss vs wall time")
    figure.savefig(path, dpi=100)
