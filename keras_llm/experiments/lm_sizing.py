"""Sizes for the compared language models: GPT width/depth and RNN width to a parameter budget.

Every count comes from a model built by the real builders (``build_gpt``, ``build_rnn_lm``), so
the sizes cannot drift from the models. A search grid has hundreds of points and a build takes
a fraction of a second, so the grid's counts are interpolated from a few built models: a
parameter count is a polynomial of low degree in each size (a weight matrix is a product of two
widths; identical blocks repeat), exact in integers through as many built points as its degree
plus one. The chosen size is then built once more and its count must equal the interpolated one,
so a builder change that broke the polynomial would stop the comparison instead of skewing it.
"""

import functools
import math
from fractions import Fraction

from keras_llm.errors import UserInputError
from keras_llm.models import GPTConfig, RNNConfig, build_gpt, build_rnn_lm

TOLERANCE = 0.25
BABY_GPT = {"num_layers": 4, "num_heads": 4, "hidden_dim": 128}  # nanoGPT's CPU baby GPT (~0.8M at vocab 65)
RNN_LAYERS = 2
GPT_WIDTHS = (16, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 448, 512, 640, 768, 1024)
GPT_DEPTHS = range(1, 13)
RNN_EMBEDDING_DIMS = (16, 32, 64, 128, 256, 512)
RNN_UNITS = range(8, 4097, 8)
# Where the polynomials are sampled: (points in the first size, points in the second size).
_GPT_SAMPLES = ((16, 32, 48), (1, 2))  # width (degree 2), depth (degree 1)
_RNN_SAMPLES = ((16, 32), (8, 16, 24))  # embedding width (degree 1), units (degree 2)


def gpt_heads(hidden_dim):
    """Attention heads of a compared GPT: 32 wide each from 64 up, else 16 wide (at least one)."""
    return hidden_dim // 32 if hidden_dim % 32 == 0 and hidden_dim >= 64 else max(1, hidden_dim // 16)


def gpt_config(vocab_size, max_length, hidden_dim, num_layers):
    """The :class:`GPTConfig` of a compared GPT (heads by :func:`gpt_heads`, no dropout)."""
    return GPTConfig(vocab_size=vocab_size, max_length=max_length, num_layers=num_layers,
                     num_heads=gpt_heads(hidden_dim), hidden_dim=hidden_dim, dropout=0.0)


def rnn_config(cell, vocab_size, embedding_dim, units, num_layers=RNN_LAYERS):
    """The :class:`RNNConfig` of a compared RNN LM (no dropout, untied head)."""
    return RNNConfig(vocab_size=vocab_size, cell=cell, num_layers=num_layers, units=units,
                     embedding_dim=embedding_dim, dropout=0.0)


def build_neural(config, name=None):
    """A GPT for a :class:`GPTConfig`, an RNN LM for an :class:`RNNConfig`."""
    if isinstance(config, GPTConfig):
        return build_gpt(config, name=name or "gpt")
    return build_rnn_lm(config, name=name or "rnn_lm")


def built_parameter_count(config):
    """Parameters of the model built from ``config`` (``count_params``: a tied embedding once)."""
    return int(build_neural(config).count_params())


def gpt_parameter_count(vocab_size, max_length, hidden_dim, num_layers):
    """Parameters of the GPT :func:`gpt_config` describes, counted on the built model."""
    return built_parameter_count(gpt_config(vocab_size, max_length, hidden_dim, num_layers))


def rnn_parameter_count(cell, vocab_size, embedding_dim, units, num_layers=RNN_LAYERS):
    """Parameters of the RNN LM :func:`rnn_config` describes, counted on the built model."""
    return built_parameter_count(rnn_config(cell, vocab_size, embedding_dim, units, num_layers))


def _lagrange(points, values, x):
    """The value at ``x`` of the polynomial through ``(points[i], values[i])``, exact."""
    total = Fraction(0)
    for i, (xi, value) in enumerate(zip(points, values)):
        term = Fraction(value)
        for j, xj in enumerate(points):
            if j != i:
                term *= Fraction(x - xj, xi - xj)
        total += term
    return total


def _interpolated_counts(count_at, samples, grid):
    """``{(x, y): count}`` over ``grid`` from counts built at the ``samples`` grid (a product of two axes)."""
    xs, ys = samples
    built = [[count_at(x, y) for y in ys] for x in xs]
    counts = {}
    for y in sorted({y for _, y in grid}):
        column = [_lagrange(ys, row, y) for row in built]
        for x in sorted({x for x, y_ in grid if y_ == y}):
            counts[(x, y)] = int(_lagrange(xs, column, x))
    return counts


@functools.lru_cache(maxsize=32)
def gpt_parameter_table(vocab_size, max_length):
    """``{(hidden_dim, num_layers): parameters}`` over the GPT search grid (six built models)."""
    grid = [(d, layers) for d in GPT_WIDTHS for layers in GPT_DEPTHS]
    return _interpolated_counts(lambda d, layers: gpt_parameter_count(vocab_size, max_length, d, layers),
                                _GPT_SAMPLES, grid)


@functools.lru_cache(maxsize=32)
def rnn_parameter_table(cell, vocab_size):
    """``{(embedding_dim, units): parameters}`` over the RNN search grid (six built models)."""
    grid = [(e, u) for e in RNN_EMBEDDING_DIMS for u in RNN_UNITS]
    return _interpolated_counts(lambda e, u: rnn_parameter_count(cell, vocab_size, e, u), _RNN_SAMPLES, grid)


def _within(count, target):
    return abs(count - target) <= TOLERANCE * target


def _confirm(config, expected):
    count = built_parameter_count(config)
    if count != expected:
        raise RuntimeError(f"lm_sizing: the built model has {count:,} parameters, the interpolation said "
                           f"{expected:,}; the builder's count is no longer a low-degree polynomial in its sizes")
    return count


def choose_gpt(target, vocab_size, max_length):
    """GPT width/depth within ±25% of ``target`` parameters, closest to 32 width per layer (baby GPT's shape)."""
    candidates = []
    for (d, layers), count in gpt_parameter_table(vocab_size, max_length).items():
        if _within(count, target):
            candidates.append((abs(math.log(d / (32 * layers))), abs(math.log(count / target)), d, layers))
    if not candidates:
        raise UserInputError(f"no GPT in the search grid has {target:,} parameters ±25% for a vocabulary of "
                             f"{vocab_size}; choose another params")
    _, _, d, layers = min(candidates)
    _confirm(gpt_config(vocab_size, max_length, d, layers), gpt_parameter_table(vocab_size, max_length)[(d, layers)])
    return {"max_length": max_length, "num_layers": layers, "num_heads": gpt_heads(d), "hidden_dim": d}


def choose_rnn(cell, target, vocab_size):
    """``RNN_LAYERS``-layer RNN units/embedding width within ±25% of ``target``, embedding near half the units."""
    table, candidates = rnn_parameter_table(cell, vocab_size), []
    for embedding_dim in RNN_EMBEDDING_DIMS:
        best = min(RNN_UNITS, key=lambda u: abs(table[(embedding_dim, u)] - target))
        if _within(table[(embedding_dim, best)], target) and embedding_dim <= best:
            candidates.append((abs(math.log(embedding_dim / (best / 2))), embedding_dim, best))
    if not candidates:
        raise UserInputError(f"no {cell.upper()} in the search grid has {target:,} parameters ±25% for a "
                             f"vocabulary of {vocab_size}; choose another params")
    _, embedding_dim, units = min(candidates)
    _confirm(rnn_config(cell, vocab_size, embedding_dim, units), table[(embedding_dim, units)])
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
