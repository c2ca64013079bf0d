"""Our MultiHeadAttention against keras.layers.MultiHeadAttention with copied weights."""

import keras
import numpy as np
import pytest

from keras_llm.layers import (
    MultiHeadAttention,
    empty_attention_cache,
    recorded_attention_scores,
    scaled_dot_product_attention,
)

TOL = 1e-5


def _pair(num_heads=2, key_dim=4, value_dim=None, query=None, value=None):
    reference = keras.layers.MultiHeadAttention(num_heads, key_dim, value_dim=value_dim)
    ours = MultiHeadAttention(num_heads, key_dim, value_dim=value_dim)
    reference(query, value)
    ours(query, value)
    # Random biases too, so a bias wired to the wrong place cannot hide behind zeros.
    weights = [w + np.random.default_rng(1).normal(size=w.shape).astype("float32") * 0.1
               for w in reference.get_weights()]
    reference.set_weights(weights)
    ours.set_weights(weights)
    return reference, ours


def _assert_same(reference, ours, *args, **kwargs):
    expected, expected_scores = reference(*args, return_attention_scores=True, **kwargs)
    got, got_scores = ours(*args, return_attention_scores=True, **kwargs)
    np.testing.assert_allclose(got, expected, atol=TOL)
    np.testing.assert_allclose(got_scores, expected_scores, atol=TOL)


def test_self_attention_matches_keras(rng):
    x = rng.normal(size=(3, 7, 8)).astype("float32")
    reference, ours = _pair(query=x, value=x)
    _assert_same(reference, ours, x, x)


def test_self_attention_from_one_input_uses_the_fused_projection_and_matches_keras(rng):
    x = rng.normal(size=(3, 7, 8)).astype("float32")
    reference, ours = _pair(query=x, value=x)
    separate_calls = []
    for dense in (ours.query_dense, ours.key_dense, ours.value_dense):
        original = dense.call
        dense.call = lambda *args, _original=original, **kwargs: (
            separate_calls.append(1), _original(*args, **kwargs))[1]
    expected, expected_scores = reference(x, x, return_attention_scores=True, use_causal_mask=True)
    got, got_scores = ours(x, return_attention_scores=True, use_causal_mask=True)
    np.testing.assert_allclose(got, expected, atol=TOL)
    np.testing.assert_allclose(got_scores, expected_scores, atol=TOL)
    assert separate_calls == []  # one matmul against the three kernels, not three projections
    ours(x, x[:, ::-1])  # two inputs: the three projections run separately
    assert len(separate_calls) == 3


def test_cross_attention_matches_keras(rng):
    q = rng.normal(size=(2, 5, 8)).astype("float32")
    v = rng.normal(size=(2, 9, 6)).astype("float32")
    reference, ours = _pair(num_heads=3, key_dim=4, value_dim=5, query=q, value=v)
    _assert_same(reference, ours, q, v)
    k = rng.normal(size=(2, 9, 6)).astype("float32")
    _assert_same(reference, ours, q, v, k)


def test_padding_mask_matches_keras(rng):
    q = rng.normal(size=(2, 5, 8)).astype("float32")
    v = rng.normal(size=(2, 6, 8)).astype("float32")
    reference, ours = _pair(query=q, value=v)
    mask = np.ones((2, 5, 6), bool)
    mask[0, :, 4:] = False
    mask[1, :, 2:] = False
    _assert_same(reference, ours, q, v, attention_mask=mask)


def test_keras_padding_masks_propagate_like_keras(rng):
    ids = np.array([[3, 4, 5, 0, 0], [6, 7, 0, 0, 0]])
    embed = keras.layers.Embedding(10, 8, mask_zero=True)
    x = embed(ids)
    reference, ours = _pair(query=x, value=x)
    _assert_same(reference, ours, x, x)


def test_causal_mask_matches_keras(rng):
    x = rng.normal(size=(2, 6, 8)).astype("float32")
    reference, ours = _pair(query=x, value=x)
    _assert_same(reference, ours, x, x, use_causal_mask=True)
    mask = np.ones((2, 6, 6), bool)
    mask[:, :, 0] = False
    _assert_same(reference, ours, x, x, attention_mask=mask, use_causal_mask=True)


def test_causal_outputs_ignore_the_future(rng):
    x = rng.normal(size=(1, 6, 8)).astype("float32")
    layer = MultiHeadAttention(2, 4)
    before = layer(x, use_causal_mask=True)
    x2 = x.copy()
    x2[:, 4:] = rng.normal(size=(1, 2, 8))
    after = layer(x2, use_causal_mask=True)
    np.testing.assert_allclose(after[:, :4], before[:, :4], atol=1e-6)
    assert not np.allclose(after[:, 4:], before[:, 4:])


def test_kv_cache_equals_full_pass(rng):
    x = rng.normal(size=(2, 6, 8)).astype("float32")
    layer = MultiHeadAttention(2, 4)
    full = layer(x, use_causal_mask=True)
    cache = empty_attention_cache(2, num_heads=2, length=6, head_dim=4)
    # A two-token prefill, then one token at a time.
    out, cache = layer(x[:, :2], cache=cache, cache_update_index=0, use_causal_mask=True)
    pieces = [out]
    for t in range(2, 6):
        out, cache = layer(x[:, t:t + 1], cache=cache, cache_update_index=t, use_causal_mask=True)
        pieces.append(out)
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, atol=TOL)


def test_scaled_dot_product_attention_formula(rng):
    q, k, v = (rng.normal(size=(2, 4, 3)).astype("float32") for _ in range(3))
    logits = q @ k.transpose(0, 2, 1) / np.sqrt(3)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    np.testing.assert_allclose(scaled_dot_product_attention(q, k, v), weights @ v, atol=1e-6)
    mask = np.tril(np.ones((4, 4), bool))
    masked = np.where(mask, logits, -np.inf)
    weights = np.exp(masked - masked.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    np.testing.assert_allclose(scaled_dot_product_attention(q, k, v, mask), weights @ v, atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(query=np.zeros((2, 8), "float32")), "query"),
    (dict(query=np.zeros((2, 3, 8), "float32"), value=np.zeros((2, 4, 8), "float32"),
          key=np.zeros((2, 5, 8), "float32")), "same length"),
    (dict(query=np.zeros((2, 3, 8), "float32"), cache=np.zeros((2, 2, 6, 3, 4), "float32"),
          cache_update_index=0), "cache"),
    (dict(query=np.zeros((2, 3, 8), "float32"), cache=(np.zeros((2, 3, 6, 4), "float32"),) * 2,
          cache_update_index=0), "cache"),
])
def test_bad_input_names_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention(2, 4)(**kwargs)


def test_mismatched_depths_are_rejected():
    with pytest.raises(ValueError, match="last dimension"):
        scaled_dot_product_attention(np.zeros((1, 2, 3)), np.zeros((1, 2, 4)), np.zeros((1, 2, 4)))


def test_recorded_attention_scores_are_the_returned_ones_and_leave_the_output_unchanged(rng):
    q = rng.normal(size=(2, 5, 8)).astype("float32")
    v = rng.normal(size=(2, 6, 8)).astype("float32")
    _, ours = _pair(query=q, value=v)
    expected_output, expected_scores = ours(q, v, return_attention_scores=True)
    with recorded_attention_scores([ours]) as records:
        self_output = ours(q, use_causal_mask=True)
        output = ours(q, v)
    assert [layer for layer, _ in records] == [ours, ours]
    np.testing.assert_array_equal(output, expected_output)
    np.testing.assert_array_equal(records[1][1], expected_scores)
    np.testing.assert_array_equal(self_output, ours(q, use_causal_mask=True))
    ours(q, v)  # outside the block nothing is recorded
    assert len(records) == 2
    with pytest.raises(ValueError), recorded_attention_scores([ours]):
        ours(q[0])  # a failing call still ends the recording
    assert ours._score_recorder is None


def test_attending_to_a_single_key_is_silent_and_exact(rng):
    """One key (a blank source, a cache of one step) gets weight 1, without Keras' size-1 softmax warning."""
    import warnings

    from keras_llm.layers.attention import attention_weights

    query, key = rng.normal(size=(2, 3, 1, 4)).astype("float32"), rng.normal(size=(2, 3, 1, 4)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights = attention_weights(query, key)
        masked = attention_weights(query, key, mask=np.ones((2, 1, 1, 1), bool))
    np.testing.assert_array_equal(np.asarray(weights), 1.0)
    np.testing.assert_array_equal(np.asarray(masked), 1.0)
