"""Encoder/decoder blocks: causality, padding invariance, cached decoding == full pass."""

import numpy as np
import pytest

from keras_llm.layers import TransformerDecoderBlock, TransformerEncoderBlock, empty_attention_cache

NORMS = [False, True]


@pytest.mark.parametrize("norm_first", NORMS)
def test_decoder_is_causal(norm_first, rng):
    block = TransformerDecoderBlock(2, 16, norm_first=norm_first, cross_attention=False)
    x = rng.normal(size=(2, 7, 8)).astype("float32")
    before = block(x)
    for t in range(7):
        changed = x.copy()
        changed[:, t + 1:] = rng.normal(size=changed[:, t + 1:].shape)
        np.testing.assert_allclose(block(changed)[:, :t + 1], before[:, :t + 1], atol=1e-5)


@pytest.mark.parametrize("norm_first", NORMS)
def test_encoder_padding_invariance(norm_first, rng):
    block = TransformerEncoderBlock(2, 16, norm_first=norm_first)
    x = rng.normal(size=(2, 6, 8)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    out = block(x, padding_mask=mask)
    garbage = x.copy()
    garbage[0, 4:] = rng.normal(size=(2, 8)) * 100
    out2 = block(garbage, padding_mask=mask)
    np.testing.assert_allclose(out2[0, :4], out[0, :4], atol=1e-5)
    # Equal to running the unpadded sequence alone.
    np.testing.assert_allclose(block(x[:1, :4])[0], out[0, :4], atol=1e-5)


@pytest.mark.parametrize("norm_first", NORMS)
def test_decoder_cross_attention_ignores_encoder_padding(norm_first, rng):
    block = TransformerDecoderBlock(2, 16, norm_first=norm_first)
    y = rng.normal(size=(1, 4, 8)).astype("float32")
    enc = rng.normal(size=(1, 6, 8)).astype("float32")
    enc_mask = np.array([[1, 1, 1, 0, 0, 0]], bool)
    out = block(y, enc, encoder_padding_mask=enc_mask)
    enc2 = enc.copy()
    enc2[:, 3:] = 50.0
    np.testing.assert_allclose(block(y, enc2, encoder_padding_mask=enc_mask), out, atol=1e-5)
    np.testing.assert_allclose(block(y, enc[:, :3]), out, atol=1e-5)


@pytest.mark.parametrize("norm_first", NORMS)
@pytest.mark.parametrize("cross", [False, True])
def test_cached_decoding_equals_full_pass(norm_first, cross, rng):
    block = TransformerDecoderBlock(2, 16, norm_first=norm_first, cross_attention=cross)
    y = rng.normal(size=(2, 6, 8)).astype("float32")
    enc = rng.normal(size=(2, 5, 8)).astype("float32") if cross else None
    full = block(y, enc)
    cache = empty_attention_cache(2, num_heads=2, length=6, head_dim=4)
    cross_cache = block.compute_cross_attention_cache(enc) if cross else None
    pieces = []
    for t in range(6):
        results = block(y[:, t:t + 1], self_attention_cache=cache, self_attention_cache_update_index=t,
                        cross_attention_cache=cross_cache)
        out, cache = results[0], results[1]
        pieces.append(out)
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, atol=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="num_heads=3 must divide"):
        TransformerEncoderBlock(3, 16)(np.zeros((1, 2, 8), "float32"))
    with pytest.raises(ValueError, match="encoder_sequence"):
        TransformerDecoderBlock(2, 16)(np.zeros((1, 2, 8), "float32"))
    with pytest.raises(ValueError, match="cross_attention=False"):
        TransformerDecoderBlock(2, 16, cross_attention=False)(
            np.zeros((1, 2, 8), "float32"), np.zeros((1, 2, 8), "float32"))
    with pytest.raises(ValueError, match="hidden_dim"):
        TransformerEncoderBlock(2, 16)(np.zeros((2, 8), "float32"))
    with pytest.raises(ValueError, match="cache_update_index"):
        TransformerDecoderBlock(2, 16, cross_attention=False)(
            np.zeros((1, 2, 8), "float32"), self_attention_cache=np.zeros((1, 2, 4, 2, 4), "float32"))
