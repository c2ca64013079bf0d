"""Every layer round-trips through .keras (safe_mode) and runs under mixed_bfloat16."""

import json

import keras
import numpy as np
import pytest

from keras_llm.layers import (
    FeedForward,
    GRUCell,
    LSTMCell,
    MultiHeadAttention,
    PositionEmbedding,
    SimpleRNNCell,
    SinusoidalPositionEncoding,
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)

SEQ, WIDTH, VOCAB = 6, 8, 30


def _hidden_model(build_output):
    inputs = keras.Input((SEQ, WIDTH))
    return keras.Model(inputs, build_output(inputs))


def _token_model(build_output):
    inputs = keras.Input((SEQ,), dtype="int32")
    return keras.Model(inputs, build_output(inputs))


def _dense(x):
    # A layer of the global policy first, so the sum is in the compute dtype.
    return keras.layers.Dense(WIDTH)(x)


MODELS = {
    "self_attention": lambda: _hidden_model(lambda x: MultiHeadAttention(2, 4, dropout=0.1)(x, x)),
    "causal_attention": lambda: _hidden_model(
        lambda x: MultiHeadAttention(2, 4, value_dim=3, output_dim=5)(x, use_causal_mask=True)),
    "cross_attention": lambda: _hidden_model(
        lambda x: MultiHeadAttention(2, 4)(x, keras.layers.Dense(5)(x))),
    "position": lambda: _hidden_model(lambda x: _dense(x) + PositionEmbedding(SEQ)(x)),
    "sinusoidal": lambda: _hidden_model(lambda x: _dense(x) + SinusoidalPositionEncoding(SEQ)(x)),
    "token_and_position": lambda: _token_model(
        lambda ids: TokenAndPositionEmbedding(VOCAB, SEQ, WIDTH, mask_zero=True)(ids)),
    "feed_forward": lambda: _hidden_model(lambda x: FeedForward(16, activation="relu", dropout=0.1)(x)),
    "encoder": lambda: _token_model(lambda ids: TransformerEncoderBlock(2, 16, norm_first=True)(
        TokenAndPositionEmbedding(VOCAB, SEQ, WIDTH, mask_zero=True)(ids))),
    "decoder": lambda: _hidden_model(lambda x: TransformerDecoderBlock(2, 16, cross_attention=False)(x)),
    "decoder_cross": lambda: _hidden_model(
        lambda x: TransformerDecoderBlock(2, 16, activation="relu")(x, keras.layers.Dense(WIDTH)(x))),
    "simple_rnn": lambda: _hidden_model(lambda x: keras.layers.RNN(SimpleRNNCell(5))(x)),
    "lstm": lambda: _hidden_model(lambda x: keras.layers.RNN(LSTMCell(5), return_sequences=True)(x)),
    "gru": lambda: _hidden_model(lambda x: keras.layers.RNN(GRUCell(5, reset_after=True))(x)),
}


def _inputs(model):
    if model.inputs[0].dtype.startswith("int"):
        ids = np.random.default_rng(0).integers(1, VOCAB, size=(2, SEQ))
        ids[0, 4:] = 0  # padding, to exercise the mask path after reload
        return ids
    return np.random.default_rng(0).normal(size=(2, SEQ, WIDTH)).astype("float32")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_functional_round_trip(name, tmp_path):
    model = MODELS[name]()
    x = _inputs(model)
    expected = model.predict(x, verbose=0)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored.predict(x, verbose=0), expected, atol=1e-6)
    # Through JSON, because Keras itself turns build-shape tuples into lists on reload.
    def configs(m):
        return json.loads(json.dumps([layer.get_config() for layer in m.layers]))
    assert configs(restored) == configs(model)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_runs_under_mixed_bfloat16(name):
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = MODELS[name]()
    out = model(_inputs(model))
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))).all()
