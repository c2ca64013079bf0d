"""The continuous cache's arithmetic against a position-by-position reference, and its tuning."""

import math

import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.evaluation.continuous_cache import cache_probabilities, check_window, mixed_nats, tune_cache
from keras_llm.runs.lm_cache import check_cache_request


def _reference(states, next_ids, window, theta):
    result = np.zeros(len(next_ids))
    for t in range(1, len(next_ids)):
        lo = max(0, t - window)
        weights = np.exp(theta * (states[lo:t].astype(np.float64) @ states[t]))
        result[t] = weights[next_ids[lo:t] == next_ids[t]].sum() / weights.sum()
    return result


@pytest.mark.parametrize("window,block", [(3, 4), (10, 7), (200, 16), (1, 1)])
def test_blocked_cache_probabilities_match_the_position_by_position_sum(window, block):
    rng = np.random.default_rng(window)
    states = rng.normal(size=(57, 6)).astype(np.float32)
    next_ids = rng.integers(0, 5, 57)
    got = cache_probabilities(states, next_ids, window, 0.7, block=block)
    np.testing.assert_allclose(got, _reference(states, next_ids, window, 0.7), rtol=1e-5, atol=1e-12)
    assert got[0] == 0.0


def test_a_token_never_seen_in_the_window_gets_nothing_from_the_cache():
    states = np.ones((4, 2), np.float32)
    got = cache_probabilities(states, np.array([1, 2, 3, 1]), window=2, theta=1.0)
    # Position 3 looks back at positions 1 and 2 (tokens 2, 3): token 1 was seen only at position 0.
    assert got[3] == 0.0 and got[2] == 0.0


def test_mixed_nats_is_the_mixture_and_keeps_the_first_position_the_models():
    p_model, p_cache = np.array([0.5, 0.2, 0.1]), np.array([0.0, 0.6, 0.0])
    expected = -(math.log(0.5) + math.log(0.75 * 0.2 + 0.25 * 0.6) + math.log(0.75 * 0.1))
    assert mixed_nats(p_model, p_cache, 0.25) == pytest.approx(expected)


def test_tuning_picks_the_grid_point_with_the_lowest_perplexity():
    rng = np.random.default_rng(0)
    # A text that repeats itself: the cache helps, so lambda > 0 wins.
    next_ids = np.tile(rng.integers(0, 50, 40), 5)
    states = rng.normal(size=(len(next_ids), 8)).astype(np.float32)
    states[40:] = states[:-40]  # the same contexts come back with the same states
    p_model = np.full(len(next_ids), 1 / 50)
    thetas, lambdas = (0.1, 1.0), (0.0, 0.3, 0.6)
    settings = tune_cache(states, next_ids, p_model, window=100, thetas=thetas, lambdas=lambdas)
    scores = {(theta, lam): mixed_nats(p_model, cache_probabilities(states, next_ids, 100, theta), lam)
              for theta in thetas for lam in lambdas}
    assert (settings.theta, settings.lam) == min(scores, key=scores.get)
    assert settings.lam > 0
    assert settings.tuning_perplexity_with < settings.tuning_perplexity_without == pytest.approx(50)


@pytest.mark.parametrize("window", [0, -3, 2.5, True, None])
def test_bad_windows_are_refused(window):
    with pytest.raises(UserInputError, match="cache window"):
        check_window(window)


def test_a_cache_is_for_rnn_runs_only():
    with pytest.raises(UserInputError, match="RNN language-model runs"):
        check_cache_request(100, {"model": "gpt"})
    check_cache_request(100, {"model": "rnn_lm"})
