"""The BERT backbone: shapes, padding invariance, save/load, bad configs, mean pooling."""

import keras
import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.models.bert import BertConfig, build_bert_backbone, mean_pool

TINY = dict(vocab_size=50, hidden_dim=16, num_layers=2, num_heads=2, max_length=12, dropout=0.1)


def _inputs(ids):
    ids = np.asarray(ids, "int32")
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": (ids > 0).astype("int32")}


def test_shapes_and_padding_invariance():
    backbone = build_bert_backbone(BertConfig(**TINY))
    short = backbone(_inputs([[2, 7, 8, 9, 3]]))
    padded = backbone(_inputs([[2, 7, 8, 9, 3, 0, 0, 0]]))
    assert short["sequence_output"].shape == (1, 5, 16)
    assert padded["pooled_output"].shape == (1, 16)
    np.testing.assert_allclose(padded["sequence_output"][:, :5], short["sequence_output"], atol=1e-5)
    np.testing.assert_allclose(padded["pooled_output"], short["pooled_output"], atol=1e-5)


def test_segments_matter():
    backbone = build_bert_backbone(BertConfig(**TINY))
    inputs = _inputs([[2, 7, 8, 3, 9, 3]])
    other = dict(inputs, segment_ids=np.array([[0, 0, 0, 0, 1, 1]], "int32"))
    assert not np.allclose(backbone(inputs)["sequence_output"], backbone(other)["sequence_output"])


def test_save_and_load_round_trip(tmp_path):
    backbone = build_bert_backbone(BertConfig(**TINY))
    inputs = _inputs([[2, 7, 8, 9, 3, 0]])
    path = tmp_path / "bert.keras"
    backbone.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(restored(inputs)[key], backbone(inputs)[key], atol=1e-6)


def test_mean_pool_ignores_padding():
    hidden = np.array([[[1.0, 0.0], [3.0, 4.0], [100.0, 100.0]]], "float32")
    pooled = mean_pool(hidden, np.array([[1, 1, 0]]), normalize=False)
    np.testing.assert_allclose(pooled, [[2.0, 2.0]])
    unit = mean_pool(hidden, np.array([[1, 1, 0]]))
    np.testing.assert_allclose(unit, [[2 ** -0.5, 2 ** -0.5]], atol=1e-6)


@pytest.mark.parametrize("bad", [dict(num_heads=3), dict(vocab_size=0), dict(dropout=-0.1)])
def test_bad_config(bad):
    with pytest.raises(UserInputError):
        BertConfig(**{**TINY, **bad})


def test_pre_ln_encoder_normalises_its_output_and_round_trips(tmp_path):
    """norm_first: pre-LN blocks and a final LayerNorm (the from-scratch classifiers' layout)."""
    from keras_llm.models.bert import FINAL_NORM

    backbone = build_bert_backbone(BertConfig(**TINY, norm_first=True))
    assert all(layer.norm_first for layer in backbone.layers if layer.name.startswith("encoder_block_"))
    assert FINAL_NORM not in {layer.name for layer in build_bert_backbone(BertConfig(**TINY)).layers}
    short, padded = backbone(_inputs([[2, 7, 8, 9, 3]])), backbone(_inputs([[2, 7, 8, 9, 3, 0, 0]]))
    np.testing.assert_allclose(padded["sequence_output"][:, :5], short["sequence_output"], atol=1e-5)
    # The final LayerNorm (gamma 1, beta 0 at initialisation): every position has mean 0 and variance 1.
    output = np.asarray(short["sequence_output"])
    np.testing.assert_allclose(output.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(output.var(-1), 1, atol=1e-3)
    path = tmp_path / "pre_ln.keras"
    backbone.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    inputs = _inputs([[2, 7, 8, 9, 3, 0]])
    np.testing.assert_allclose(restored(inputs)["sequence_output"], backbone(inputs)["sequence_output"], atol=1e-6)
