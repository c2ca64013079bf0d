"""Position embeddings, token+position embedding and the feed-forward block."""

import math

import keras
import numpy as np
import pytest

from keras_llm.layers import (
    FeedForward,
    PositionEmbedding,
    SinusoidalPositionEncoding,
    TokenAndPositionEmbedding,
)
from keras_llm.layers.feed_forward import exact_gelu


def test_sinusoidal_values_follow_the_paper():
    table = SinusoidalPositionEncoding()(np.zeros((1, 5, 6), "float32"))[0].numpy()
    for pos in range(5):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert table[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-5)
            assert table[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-5)


@pytest.mark.parametrize("layer", [PositionEmbedding(10), SinusoidalPositionEncoding(10)])
def test_start_index_shifts_positions(layer):
    x = np.zeros((2, 6, 4), "float32")
    full = layer(x)
    np.testing.assert_allclose(layer(x[:, 3:5], start_index=3), full[:, 3:5], atol=1e-6)


def test_too_long_sequence_is_rejected():
    with pytest.raises(ValueError, match="max_length"):
        PositionEmbedding(4)(np.zeros((1, 5, 2), "float32"))
    with pytest.raises(ValueError, match="even"):
        SinusoidalPositionEncoding()(np.zeros((1, 2, 3), "float32"))


@pytest.mark.parametrize("position", ["learned", "sinusoidal"])
def test_token_and_position_embedding(position):
    layer = TokenAndPositionEmbedding(20, 8, 4, position=position, mask_zero=True)
    ids = np.array([[3, 4, 0, 0]])
    out = layer(ids)
    assert out.shape == (1, 4, 4)
    np.testing.assert_array_equal(layer.compute_mask(ids), [[True, True, False, False]])
    tokens = layer.token_embedding(ids)
    np.testing.assert_allclose(out - tokens, layer.position_embedding(tokens), atol=1e-6)
    with pytest.raises(ValueError, match="position"):
        TokenAndPositionEmbedding(20, 8, 4, position="rotary")
    with pytest.raises(ValueError, match="token_ids"):
        layer(np.zeros((1, 2, 3), "int32"))


def test_feed_forward_uses_exact_gelu(rng):
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    layer = FeedForward(8, activation="gelu")
    out = layer(x)
    w1, b1 = layer.intermediate_dense.get_weights()
    w2, b2 = layer.output_dense.get_weights()
    h = x @ w1 + b1
    erf = np.vectorize(math.erf)
    expected = (0.5 * h * (1 + erf(h / math.sqrt(2)))) @ w2 + b2
    np.testing.assert_allclose(out, expected, atol=1e-5)
    relu = FeedForward(8, activation="relu")
    relu(x)
    w1, b1 = relu.intermediate_dense.get_weights()
    w2, b2 = relu.output_dense.get_weights()
    np.testing.assert_allclose(relu(x), np.maximum(x @ w1 + b1, 0) @ w2 + b2, atol=1e-5)
    with pytest.raises(ValueError, match="activation"):
        FeedForward(8, activation="swish")


def test_exact_gelu_equals_the_erf_definition_and_keras_erfc_form():
    x = np.concatenate([np.linspace(-12, 12, 2001), [-40.0, 0.0, 40.0]]).astype("float32")
    expected = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype("float64")])
    np.testing.assert_allclose(exact_gelu(x), expected, atol=2e-6, rtol=1e-6)
    np.testing.assert_allclose(exact_gelu(x), keras.ops.gelu(x, approximate=False), atol=2e-6, rtol=1e-6)


def test_feed_forward_dropout_only_in_training(rng):
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    layer = FeedForward(8, dropout=0.5)
    np.testing.assert_allclose(layer(x), layer(x, training=False))
    assert not np.allclose(layer(x, training=True), layer(x))
    assert keras.ops.convert_to_numpy(layer(x)).dtype == np.float32
