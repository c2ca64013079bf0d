"""Recurrent LM and classifier: fused == textbook path, causality, padding, stepping, round trips, errors."""

import json

import keras
import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.models import parameter_count
from keras_llm.models.rnn import (
    CELLS,
    RNNConfig,
    build_rnn_classifier,
    build_rnn_lm,
    rnn_lm_initial_state,
    rnn_lm_step,
)

VOCAB = 23
SMALL = dict(units=12, embedding_dim=8)


def _spread_weights(model, rng):
    """Random weights large enough that the gates saturate differently per unit (a stricter check)."""
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype("float32") for w in model.get_weights()])


@pytest.mark.parametrize("cell", CELLS)
def test_builtin_and_textbook_lm_agree_with_copied_weights(cell, rng):
    fused = build_rnn_lm(VOCAB, cell=cell, num_layers=2, use_builtin=True, **SMALL)
    textbook = build_rnn_lm(VOCAB, cell=cell, num_layers=2, use_builtin=False, **SMALL)
    assert [w.shape for w in fused.get_weights()] == [w.shape for w in textbook.get_weights()]
    _spread_weights(fused, rng)
    textbook.set_weights(fused.get_weights())
    ids = rng.integers(0, VOCAB, (3, 9))
    out = fused(ids)
    assert out.shape == (3, 9, VOCAB) and out.dtype == "float32"
    np.testing.assert_allclose(textbook(ids), out, atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_builtin_and_textbook_classifier_agree(cell, rng):
    fused = build_rnn_classifier(VOCAB, 3, cell=cell, use_builtin=True, **SMALL)
    textbook = build_rnn_classifier(VOCAB, 3, cell=cell, use_builtin=False, **SMALL)
    _spread_weights(fused, rng)
    textbook.set_weights(fused.get_weights())
    ids = np.array([[4, 5, 6, 7, 0, 0], [9, 1, 0, 0, 0, 0]])
    np.testing.assert_allclose(textbook(ids), fused(ids), atol=1e-5)


@pytest.mark.parametrize("use_builtin", [True, False])
def test_lm_is_causal(use_builtin, rng):
    model = build_rnn_lm(VOCAB, cell="gru", num_layers=2, use_builtin=use_builtin, **SMALL)
    ids = rng.integers(0, VOCAB, (2, 10))
    changed = ids.copy()
    changed[:, 6:] = (changed[:, 6:] + 1) % VOCAB
    before, after = np.asarray(model(ids)), np.asarray(model(changed))
    np.testing.assert_allclose(after[:, :6], before[:, :6], atol=1e-6)
    assert not np.allclose(after[:, 6:], before[:, 6:])


@pytest.mark.parametrize("cell", CELLS)
def test_stepping_one_token_at_a_time_matches_the_full_pass(cell, rng):
    model = build_rnn_lm(VOCAB, cell=cell, num_layers=2, use_builtin=cell != "gru", **SMALL)
    _spread_weights(model, rng)
    ids = rng.integers(0, VOCAB, (2, 7))
    states = rnn_lm_initial_state(model, 2)
    stepped = []
    for t in range(ids.shape[1]):
        logits, states = rnn_lm_step(model, ids[:, t], states)
        stepped.append(np.asarray(logits))
    np.testing.assert_allclose(np.stack(stepped, axis=1), model(ids), atol=1e-5)


def test_tied_lm_has_no_head_and_steps(rng):
    model = build_rnn_lm(RNNConfig(VOCAB, cell="lstm", units=8, embedding_dim=8, tie_weights=True))
    assert "lm_head" not in [layer.name for layer in model.layers]
    untied = build_rnn_lm(VOCAB, cell="lstm", units=8, embedding_dim=8)
    assert parameter_count(untied) - parameter_count(model) == 8 * VOCAB + VOCAB
    ids = rng.integers(0, VOCAB, (1, 4))
    states = rnn_lm_initial_state(model, 1)
    for t in range(4):
        logits, states = rnn_lm_step(model, ids[:, t], states)
    np.testing.assert_allclose(logits, model(ids)[:, -1], atol=1e-5)


def test_tied_lm_wider_than_its_embedding_projects_before_the_head(rng):
    model = build_rnn_lm(RNNConfig(VOCAB, cell="lstm", units=12, embedding_dim=8, tie_weights=True))
    names = [layer.name for layer in model.layers]
    assert "output_projection" in names and "lm_head" not in names
    # The projection (12 -> 8, with bias) is all the head adds: the logits reuse the embedding.
    lstm = 4 * (8 * 12 + 12 * 12 + 12)
    assert parameter_count(model) == VOCAB * 8 + lstm + 12 * 8 + 8
    _spread_weights(model, rng)
    ids = rng.integers(0, VOCAB, (2, 5))
    states, stepped = rnn_lm_initial_state(model, 2), []
    for t in range(5):
        logits, states = rnn_lm_step(model, ids[:, t], states)
        stepped.append(np.asarray(logits))
    np.testing.assert_allclose(np.stack(stepped, axis=1), model(ids), atol=1e-5)


def test_lm_layer_names_and_parameter_count():
    model = build_rnn_lm(VOCAB, cell="lstm", num_layers=2, dropout=0.1, **SMALL)
    names = [layer.name for layer in model.layers]
    for name in ("token_embedding", "rnn_0", "rnn_1", "lm_head"):
        assert name in names
    lstm_0 = 4 * (8 * 12 + 12 * 12 + 12)
    lstm_1 = 4 * (12 * 12 + 12 * 12 + 12)
    assert parameter_count(model) == VOCAB * 8 + lstm_0 + lstm_1 + 12 * VOCAB + VOCAB


@pytest.mark.parametrize("use_builtin", [True, False])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_classifier_ignores_trailing_padding(use_builtin, bidirectional, rng):
    model = build_rnn_classifier(VOCAB, 4, cell="lstm", bidirectional=bidirectional, num_layers=2,
                                 use_builtin=use_builtin, **SMALL)
    _spread_weights(model, rng)
    ids = np.array([[3, 8, 5, 0, 0], [7, 2, 0, 0, 0]])
    longer = np.concatenate([ids, np.zeros((2, 6), ids.dtype)], axis=1)
    logits = np.asarray(model(ids))
    assert logits.shape == (2, 4) and logits.dtype == np.float32
    np.testing.assert_allclose(model(longer), logits, atol=1e-6)
    np.testing.assert_allclose(model(ids[1:, :2]), logits[1:], atol=1e-6)


def test_classifier_without_mask_sees_padding(rng):
    model = build_rnn_classifier(VOCAB, 2, mask_zero=False, **SMALL)
    _spread_weights(model, rng)
    ids = np.array([[3, 8, 5, 0]])
    assert not np.allclose(model(ids), model(np.pad(ids, ((0, 0), (0, 4)))))


@pytest.mark.parametrize("use_builtin", [True, False])
def test_keras_round_trip_with_safe_mode(use_builtin, tmp_path, rng):
    ids = rng.integers(1, VOCAB, (2, 6))
    models = {
        "lm": build_rnn_lm(VOCAB, cell="gru", num_layers=2, dropout=0.1, use_builtin=use_builtin, **SMALL),
        "tied": build_rnn_lm(VOCAB, cell="simple_rnn", units=8, embedding_dim=8, tie_weights=True,
                             use_builtin=use_builtin),
        "tied_projected": build_rnn_lm(VOCAB, cell="lstm", units=12, embedding_dim=8, tie_weights=True,
                                       use_builtin=use_builtin),
        "classifier": build_rnn_classifier(VOCAB, 3, cell="lstm", use_builtin=use_builtin, **SMALL),
    }
    for name, model in models.items():
        path = tmp_path / f"{name}.keras"
        model.save(path)
        restored = keras.models.load_model(path, safe_mode=True)
        np.testing.assert_allclose(restored(ids), model(ids), atol=1e-6)
        assert parameter_count(restored) == parameter_count(model)
        if name != "classifier":
            logits, _ = rnn_lm_step(restored, ids[:, 0], rnn_lm_initial_state(restored, 2))
            np.testing.assert_allclose(logits, model(ids[:, :1])[:, 0], atol=1e-5)


def test_config_json_round_trip():
    config = RNNConfig(VOCAB, cell="gru", num_layers=3, dropout=0.2)
    assert RNNConfig.from_dict(json.loads(config.to_json())) == config


@pytest.mark.parametrize("kwargs", [
    dict(cell="transformer"),
    dict(cell="LSTM"),
    dict(num_layers=0),
    dict(num_layers=-1),
    dict(units=0),
    dict(embedding_dim=2.5),
    dict(dropout=1.0),
])
def test_bad_lm_settings_raise_user_input_error(kwargs):
    with pytest.raises(UserInputError) as error:
        build_rnn_lm(VOCAB, **kwargs)
    assert "\n" not in str(error.value)


def test_bad_classifier_settings_and_mixed_arguments_raise():
    with pytest.raises(UserInputError, match="cell"):
        build_rnn_classifier(VOCAB, 2, cell="gru2")
    with pytest.raises(UserInputError, match="num_layers"):
        build_rnn_classifier(VOCAB, 2, num_layers=0)
    with pytest.raises(UserInputError, match="num_classes"):
        build_rnn_classifier(VOCAB, 0)
    with pytest.raises(UserInputError, match="either"):
        build_rnn_lm(RNNConfig(VOCAB), units=4)
    with pytest.raises(UserInputError, match="not an RNN"):
        rnn_lm_initial_state(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), 1)
