"""Token classifier builder: shapes, float32 logits, padding invariance, .keras round trips."""

import keras
import numpy as np
import pytest

import keras_llm  # noqa: F401  (selects the TensorFlow backend)
from keras_llm.errors import UserInputError
from keras_llm.models.bert import BertConfig, build_bert_backbone
from keras_llm.models.token_classifier import TokenClassifierConfig, build_token_classifier

TINY = dict(hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=32, max_length=16, units=8, embedding_dim=8,
            dropout=0.0)


def inputs(ids):
    ids = np.asarray(ids, "int32")
    return {"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": (ids > 0).astype("int32")}


@pytest.mark.parametrize("backbone", ["bert", "bilstm"])
def test_logits_shape_padding_invariance_and_round_trip(backbone, tmp_path):
    model = build_token_classifier(backbone, num_tags=5, vocab_size=40, **TINY)
    short, padded = inputs([[2, 7, 9, 3]]), inputs([[2, 7, 9, 3, 0, 0, 0]])
    logits = model(padded)
    assert logits.shape == (1, 7, 5) and logits.dtype == "float32"
    # Real positions do not see the padding (attention masks / masked recurrent steps).
    np.testing.assert_allclose(np.asarray(model(short)), np.asarray(logits)[:, :4], atol=1e-5)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(again(padded)), np.asarray(logits), atol=1e-6)


def test_logits_stay_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_token_classifier("bert", num_tags=3, vocab_size=40, **TINY)
        assert model(inputs([[2, 5, 3]])).dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_pretrained_backbone_is_reused():
    backbone = build_bert_backbone(BertConfig(vocab_size=50, hidden_dim=16, num_layers=1, num_heads=2))
    model = build_token_classifier("bert", num_tags=4, pretrained=backbone)
    assert model.get_layer("bert_backbone") is backbone
    assert model(inputs([[2, 49, 3]])).shape == (1, 3, 4)
    with pytest.raises(UserInputError, match="backbone='bert'"):
        build_token_classifier("bilstm", num_tags=4, pretrained=backbone)


def test_config_checks_and_json():
    config = TokenClassifierConfig(num_tags=3, vocab_size=10, backbone="bilstm")
    assert TokenClassifierConfig.from_dict({**vars(config), "extra": 1}) == config
    assert '"backbone": "bilstm"' in config.to_json()
    with pytest.raises(UserInputError, match="unknown backbone"):
        TokenClassifierConfig(num_tags=3, vocab_size=10, backbone="crf")
    with pytest.raises(UserInputError, match="num_tags"):
        build_token_classifier("bert", num_tags=0, vocab_size=10)
