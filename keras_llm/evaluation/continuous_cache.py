"""A continuous cache over a language model's recent hidden states (Grave, Joulin & Usunier, 2017).

Text repeats itself: a contract names its parties and defined terms again and again. A model whose
weights saw them rarely gives them little probability, but the file just showed them. The cache keeps
the last ``window`` pairs ``(h_i, x_{i+1})`` of hidden state and the token that followed it, and
predicts the next token from how much the current state resembles each stored one:

    p_cache(w | h_t) = sum_{i in window, x_{i+1} = w} exp(theta * h_t . h_i) / sum_{i in window} exp(theta * h_t . h_i)
    p(w)             = (1 - lambda) * p_model(w) + lambda * p_cache(w)

Nothing is trained: ``theta`` and ``lambda`` are chosen on held-out text (:func:`tune_cache`). Only the
probabilities of the tokens that actually come next are needed to score a file, so everything here
works on ``(num_tokens,)`` vectors and ``(num_tokens, dim)`` states, in blocks so that memory stays at
``block * (window + block)`` scores.

Example:
    >>> p_cache = cache_probabilities(states, next_ids, window=1000, theta=0.3)
    >>> mixed_nats(p_model, p_cache, lam=0.2)   # summed negative log-likelihood
"""

import dataclasses

import numpy as np

from keras_llm.errors import UserInputError

# The grid tune_cache searches (Grave et al. tune the same two numbers on validation data).
THETAS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2)
LAMBDAS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)


def check_window(window):
    """A cache window is a positive number of tokens."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise UserInputError(f"the cache window must be a positive number of tokens; got {window!r}")


def cache_probabilities(states, next_ids, window, theta, block=512):
    """The cache's probability of each true next token.

    Args:
        states: float ``(n, dim)``: ``states[t]`` is the hidden state that predicts ``next_ids[t]``.
        next_ids: int ``(n,)``: the token that followed each state.
        window: how many earlier positions the cache holds (positions ``t - window .. t - 1``).
        theta: how sharply the cache prefers states like the current one.
        block: positions scored per matrix product.

    Returns:
        float64 ``(n,)``; position 0 (empty cache) is 0.

    Example:
        >>> cache_probabilities(np.eye(3, dtype="float32")[[0, 1, 0]], np.array([4, 5, 4]), 2, 1.0)[2]
        0.7310585786300049
    """
    check_window(window)
    states = np.asarray(states, np.float32)
    next_ids = np.asarray(next_ids)
    n = len(next_ids)
    result = np.zeros(n, np.float64)
    for start in range(1, n, block):
        stop = min(start + block, n)
        lo = max(0, start - window)
        scores = theta * (states[start:stop] @ states[lo:stop - 1].T)  # (rows, stop - 1 - lo)
        rows = np.arange(start, stop)[:, None]
        cols = np.arange(lo, stop - 1)[None, :]
        inside = (cols < rows) & (cols >= rows - window)
        scores = np.where(inside, scores, -np.inf)
        weights = np.exp(scores - scores.max(axis=1, keepdims=True))
        same = next_ids[lo:stop - 1][None, :] == next_ids[start:stop][:, None]
        result[start:stop] = (weights * same).sum(axis=1, dtype=np.float64) / weights.sum(axis=1, dtype=np.float64)
    return result


def mixed_nats(p_model, p_cache, lam):
    """Summed negative log-likelihood of ``(1 - lam) * p_model + lam * p_cache``.

    Position 0 has an empty cache, so it keeps the model's probability.
    """
    p_model = np.asarray(p_model, np.float64)
    mixed = (1.0 - lam) * p_model + lam * np.asarray(p_cache, np.float64)
    mixed[0] = p_model[0]
    return float(-np.sum(np.log(mixed)))


def perplexity_of(probabilities):
    """The perplexity of tokens given their probabilities: ``exp(-mean(log p))``."""
    return float(np.exp(-np.mean(np.log(np.asarray(probabilities, np.float64)))))


@dataclasses.dataclass(frozen=True)
class CacheSettings:
    """A tuned cache: its window, ``theta``, ``lambda``, and the held-out perplexities that chose them."""

    window: int
    theta: float
    lam: float
    tuning_tokens: int
    tuning_perplexity_without: float
    tuning_perplexity_with: float

    def apply(self, states, next_ids, p_model):
        """Summed negative log-likelihood of ``next_ids`` with this cache over ``states``."""
        return mixed_nats(p_model, cache_probabilities(states, next_ids, self.window, self.theta), self.lam)


def tune_cache(states, next_ids, p_model, window, thetas=THETAS, lambdas=LAMBDAS):
    """The ``(theta, lambda)`` of the grid with the lowest perplexity on this (held-out) text.

    Args:
        states, next_ids: as for :func:`cache_probabilities`, of held-out text (not the test file).
        p_model: float ``(n,)``, the model's probability of each ``next_ids[t]``.
        window: the cache window.

    Returns:
        a :class:`CacheSettings`.
    """
    n = len(next_ids)
    if n < 2:
        raise UserInputError(f"tuning the cache needs held-out text of at least 2 tokens; got {n}")
    best = None
    for theta in thetas:
        p_cache = cache_probabilities(states, next_ids, window, theta)
        for lam in lambdas:
            nats = mixed_nats(p_model, p_cache, lam)
            if best is None or nats < best[0]:
                best = (nats, theta, lam)
    return CacheSettings(window, best[1], best[2], n, perplexity_of(p_model), float(np.exp(best[0] / n)))
