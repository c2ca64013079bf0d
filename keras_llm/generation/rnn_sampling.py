"""Sampling from a recurrent language model, one token at a time with carried states.

An RNN LM needs no cache and no context window: :func:`~keras_llm.models.rnn.rnn_lm_step`
advances every recurrent layer by one token in O(1), so a prompt of any length is read once
and each new token costs one step. Sampling is eager and numpy-seeded (one row, small models:
the comparison's baselines), so a seed gives the same text on every machine.
"""

import keras
import numpy as np

from keras_llm.errors import UserInputError
from keras_llm.models.rnn import rnn_lm_initial_state, rnn_lm_step


def sample_rnn_lm(model, prompt_ids, num_tokens, seed=None, temperature=1.0):
    """``num_tokens`` new ids after ``prompt_ids``, each drawn from the softmax of logits / ``temperature``.

    Args:
        model: a model from :func:`~keras_llm.models.rnn.build_rnn_lm` (or one reloaded from ``.keras``).
        prompt_ids: the prompt as a non-empty sequence of ints ``(prompt_len,)``; its last token
            predicts the first new one.
        num_tokens: how many ids to draw.
        seed: seed of the numpy generator that draws them.
        temperature: positive; below 1 sharpens the distribution, above 1 flattens it.

    Returns:
        a list of ``num_tokens`` ints (the prompt not included).

    Example:
        >>> model = build_rnn_lm(65, cell="gru", num_layers=2, units=64)
        >>> sample_rnn_lm(model, [12, 7], 5, seed=0, temperature=0.8)   # five ids in [0, 65)
    """
    prompt_ids = [int(token) for token in prompt_ids]
    if not prompt_ids:
        raise UserInputError("sample_rnn_lm needs at least one prompt token")
    if not temperature > 0:
        raise UserInputError(f"temperature must be positive for sampling; got {temperature}")
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
