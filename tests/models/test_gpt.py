"""The GPT builder: shapes, causality, weight tying, parameter count, save/load."""

import keras
import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.models import GPTConfig, build_gpt, parameter_count

TINY = dict(vocab_size=23, max_length=12, num_layers=2, num_heads=2, hidden_dim=16)


def test_shapes_and_causality(rng):
    model = build_gpt(GPTConfig(**TINY))
    ids = rng.integers(0, 23, size=(2, 12))
    logits = model(ids).numpy()
    assert logits.shape == (2, 12, 23) and logits.dtype == np.float32
    changed = ids.copy()
    changed[:, 7:] = (changed[:, 7:] + 1) % 23
    np.testing.assert_allclose(model(changed).numpy()[:, :7], logits[:, :7], atol=1e-5)


def test_parameter_count_matches_the_formula():
    config = GPTConfig(**TINY)
    d, v, t, layers = 16, 23, 12, 2
    per_block = 4 * (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + 2 * 2 * d
    expected = v * d + t * d + layers * per_block + 2 * d  # tied head adds nothing
    assert parameter_count(build_gpt(config)) == expected
    untied = build_gpt(GPTConfig(**TINY, tie_weights=False))
    assert parameter_count(untied) == expected + v * d


def test_baby_gpt_size():
    # nanoGPT's baby GPT has 0.80M parameters without biases; ours has biases (+~10k).
    assert parameter_count(build_gpt(GPTConfig(vocab_size=65))) == 809_856


def test_save_and_load_round_trip(tmp_path, rng):
    model = build_gpt(GPTConfig(**TINY, dropout=0.1))
    ids = rng.integers(0, 23, size=(2, 9))
    path = tmp_path / "gpt.keras"
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored(ids), model(ids), atol=1e-6)
    # The tie survives: one embedding table serves input and output.
    assert len(restored.get_layer("token_embedding").weights) == 1


@pytest.mark.parametrize("bad", [dict(num_heads=3), dict(hidden_dim=0), dict(dropout=1.0)])
def test_bad_config(bad):
    with pytest.raises(UserInputError):
        GPTConfig(**{**TINY, **bad})
