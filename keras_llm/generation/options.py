"""``DecodingOptions``: every decoding knob in one object, checked once when it is made.

Greedy decoding is spelled one way only, ``strategy="greedy"``; ``temperature`` must be a
positive number (0 and None are errors, never a way of asking for greedy decoding).

Inside a graph (a SavedModel signature, a compiled loop) the numeric fields may be scalar
tensors; those are not checked here (their values are unknown when the graph is traced), so
callers check or clip them where they come in. Python values are always checked.
"""

import dataclasses
import math
import numbers

import tensorflow as tf

from keras_llm.checks import FLOAT32_MAX
from keras_llm.errors import UserInputError

STRATEGIES = ("greedy", "sample")


@dataclasses.dataclass(frozen=True)
class DecodingOptions:
    """How to decode: strategy, length, sampling controls, beams and stop tokens.

    Args:
        strategy: ``"greedy"`` (argmax) or ``"sample"`` (temperature, top-k, top-p).
        max_new_tokens: int ≥ 0, tokens to add at most. ``None`` means the most the model
            allows where that is defined (translation: ``max_target_length - 1``).
        temperature: float > 0; sampling divides the logits by it (``"sample"`` only).
        top_k: int ≥ 0; keep the ``k`` most likely tokens, 0 keeps all (``"sample"`` only).
        top_p: float in (0, 1]; nucleus sampling, 1.0 keeps all (``"sample"`` only).
        seed: int; the same seed gives the same samples. ``None``: random (text APIs) or 0.
        num_beams: int ≥ 1; beams of beam search (1 is greedy decoding).
        length_penalty: finite float; beam search ranks finished hypotheses by
            ``sum(log p) / length ** length_penalty``.
        stop_tokens: tokens (strings, or ids) that end a completion; not included in it.
        min_new_tokens: int ≥ 0; the end token is barred until this many tokens are out
            (encoder–decoder decoding: summaries that stop too early).
        no_repeat_ngram_size: int ≥ 0; a token that would repeat an n-gram of this size already in
            the output is barred (0: off; encoder–decoder decoding, greedy and beams).

    Example:
        >>> options = DecodingOptions(strategy="sample", max_new_tokens=50, top_k=10, seed=1)
        >>> generate(model, tokenizer, "ROMEO:", options)
        >>> options.replace(strategy="greedy")
    """

    strategy: str = "greedy"
    max_new_tokens: int | None = 100
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    num_beams: int = 1
    length_penalty: float = 1.0
    stop_tokens: tuple = ()
    min_new_tokens: int = 0
    no_repeat_ngram_size: int = 0

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise UserInputError(f"strategy must be one of {STRATEGIES}; got {self.strategy!r}")
        if self.max_new_tokens is not None:
            _check_int("max_new_tokens", self.max_new_tokens, minimum=0)
        _check_float("temperature", self.temperature, lambda t: t > 0, " and > 0")
        _check_int("top_k", self.top_k, minimum=0)
        _check_float("top_p", self.top_p, lambda p: 0 < p <= 1, " and in (0, 1]")
        if self.seed is not None:
            _check_int("seed", self.seed, minimum=None)
        _check_int("num_beams", self.num_beams, minimum=1)
        _check_float("length_penalty", self.length_penalty)
        _check_int("min_new_tokens", self.min_new_tokens, minimum=0)
        _check_int("no_repeat_ngram_size", self.no_repeat_ngram_size, minimum=0)
        if (not _symbolic(self.min_new_tokens) and self.max_new_tokens is not None
                and not _symbolic(self.max_new_tokens) and self.min_new_tokens > self.max_new_tokens):
            raise UserInputError(f"min_new_tokens ({self.min_new_tokens}) must be at most max_new_tokens "
                                 f"({self.max_new_tokens})")
        stop_tokens = self.stop_tokens
        if isinstance(stop_tokens, (str, int)) or not isinstance(stop_tokens, (tuple, list, type(None))):
            raise UserInputError(f"stop_tokens must be a list of tokens; got {stop_tokens!r}")
        object.__setattr__(self, "stop_tokens", tuple(stop_tokens or ()))

    @property
    def greedy(self):
        """Whether the next token is the argmax (``strategy == "greedy"``)."""
        return self.strategy == "greedy"

    def replace(self, **changes):
        """A copy with ``changes`` (checked like a new object)."""
        return dataclasses.replace(self, **changes)


def _symbolic(value):
    return tf.is_tensor(value) or isinstance(value, tf.Variable)


def _check_int(name, value, minimum):
    if _symbolic(value):
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UserInputError(f"{name} must be an int; got {value!r}")
    if minimum is not None and value < minimum:
        raise UserInputError(f"{name} must be an int >= {minimum}; got {value}")


def _check_float(name, value, valid=lambda _: True, requirement=""):
    if _symbolic(value):
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UserInputError(f"{name} must be a number; got {value!r}")
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX or not valid(value):
        raise UserInputError(f"{name} must be finite{requirement}; got {value}")


def stop_token_ids(options, tokenizer=None):
    """int32 ``(num_stop,)``: ``options.stop_tokens`` as ids (a string must be one token of ``tokenizer``)."""
    ids = []
    for token in options.stop_tokens:
        if isinstance(token, str):
            encoded = tokenizer.encode(token) if tokenizer is not None else []
            if len(encoded) != 1:
                raise UserInputError(f"stop token {token!r} is not a single token of this tokenizer")
            token = encoded[0]
        ids.append(int(token))
    return tf.constant(ids, tf.int32, shape=[len(ids)])


def options_or(options, default):
    """``options``, or ``default`` when it is None; a plain error for anything else (e.g. an old positional int)."""
    if options is None:
        return default
    if not isinstance(options, DecodingOptions):
        raise TypeError(f"options must be a DecodingOptions, e.g. DecodingOptions(max_new_tokens=20); "
                        f"got {options!r}")
    return options
