"""Textbook RNN cells against the Keras built-in layers with copied weights."""

import keras
import numpy as np
import pytest

from keras_llm.layers import GRUCell, LSTMCell, SimpleRNNCell

CASES = [
    (lambda: SimpleRNNCell(6), lambda: keras.layers.SimpleRNN(6, return_sequences=True)),
    (lambda: LSTMCell(6), lambda: keras.layers.LSTM(6, return_sequences=True)),
    (lambda: GRUCell(6), lambda: keras.layers.GRU(6, reset_after=False, return_sequences=True)),
    (lambda: GRUCell(6, reset_after=True), lambda: keras.layers.GRU(6, reset_after=True, return_sequences=True)),
    (lambda: LSTMCell(6, use_bias=False), lambda: keras.layers.LSTM(6, use_bias=False, return_sequences=True)),
]


@pytest.mark.parametrize("make_ours, make_reference", CASES)
def test_cell_matches_keras_layer(make_ours, make_reference, rng):
    x = rng.normal(size=(3, 7, 4)).astype("float32")
    ours = keras.layers.RNN(make_ours(), return_sequences=True)
    reference = make_reference()
    ours(x)
    reference(x)
    # Perturb every weight (biases included) so each gate's wiring is exercised.
    weights = [w + rng.normal(size=w.shape).astype("float32") * 0.3 for w in reference.get_weights()]
    reference.set_weights(weights)
    ours.set_weights(weights)
    np.testing.assert_allclose(ours(x), reference(x), atol=1e-5)


def test_padding_mask_holds_state_like_keras(rng):
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    ours = keras.layers.RNN(LSTMCell(6))
    reference = keras.layers.LSTM(6)
    ours(x)
    reference(x)
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(ours(x, mask=mask), reference(x, mask=mask), atol=1e-5)
    np.testing.assert_allclose(ours(x, mask=mask)[0], ours(x[:1, :3])[0], atol=1e-6)


def test_lstm_forget_bias_starts_at_one():
    cell = LSTMCell(3)
    cell.build((None, 2))
    np.testing.assert_array_equal(cell.bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


def test_bad_units_and_rank():
    with pytest.raises(ValueError, match="units"):
        GRUCell(0)
    cell = SimpleRNNCell(3)
    with pytest.raises(ValueError, match="batch, input_dim"):
        cell(np.zeros((2, 3, 4), "float32"), [np.zeros((2, 3), "float32")])
