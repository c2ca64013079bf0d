"""LoRA adapters (keras_llm.training.lora): what trains, the merge into .keras files, exact backups, bad ranks."""

import keras
import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.models.bert import BertConfig
from keras_llm.models.bert_classifier import CLASSIFIER_HEAD, build_bert_classifier
from keras_llm.models.bilstm_classifier import build_bilstm_classifier
from keras_llm.training.lora import adapter_state, apply_lora, has_lora, lora_projections, restore_adapter_state

CONFIG = BertConfig(vocab_size=50, hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=32, max_length=12)


def _inputs(rng, batch=3, length=7):
    return {"token_ids": rng.integers(0, 50, (batch, length)).astype("int32"),
            "segment_ids": np.zeros((batch, length), "int32"), "padding_mask": np.ones((batch, length), "int32")}


def _trained_adapters(model, rng):
    """Adapters as training leaves them (Keras starts B at zero, so a fresh adapter changes nothing)."""
    for projection in lora_projections(model):
        projection.lora_kernel_b.assign(rng.normal(0, 0.3, projection.lora_kernel_b.shape))


def test_only_adapters_and_head_train(rng):
    model = build_bert_classifier(CONFIG, 3)
    frozen_before = model.count_params()
    report = apply_lora(model, rank=2, alpha=4, trainable_layers=(CLASSIFIER_HEAD,))
    names = [v.path for v in model.trainable_variables]
    assert report.projections == 6  # query, key, value, output + two feed-forward dense layers
    assert all("lora_kernel" in name or name.startswith(CLASSIFIER_HEAD) for name in names), names
    adapters = sum(int(np.prod(v.shape)) for v in model.trainable_variables if "lora_kernel" in v.path)
    head = 16 * 3 + 3
    assert report.trainable == adapters + head
    assert report.total == frozen_before + adapters
    assert "rank 2 (alpha 4) on 6 projections" in report.line()


def test_saved_model_is_merged_and_computes_the_same(rng, tmp_path):
    model = build_bert_classifier(CONFIG, 3)
    apply_lora(model, rank=2, alpha=4, trainable_layers=(CLASSIFIER_HEAD,))
    inputs = _inputs(rng)
    before = np.asarray(model(inputs))
    _trained_adapters(model, rng)
    expected = np.asarray(model(inputs))
    assert np.abs(expected - before).max() > 1e-3  # the adapters change the function, so the merge is tested
    model.save(tmp_path / "lora.keras")
    reloaded = keras.models.load_model(tmp_path / "lora.keras", compile=False)
    assert not has_lora(reloaded)
    assert not [v.path for v in reloaded.weights if "lora" in v.path]
    np.testing.assert_allclose(np.asarray(reloaded(inputs)), expected, atol=1e-5)


def test_adapter_state_restores_what_save_weights_merges(rng, tmp_path):
    model = build_bert_classifier(CONFIG, 2)
    apply_lora(model, rank=2, trainable_layers=(CLASSIFIER_HEAD,))
    _trained_adapters(model, rng)
    inputs = _inputs(rng)
    expected = np.asarray(model(inputs))
    state = adapter_state(model)
    model.save_weights(tmp_path / "w.weights.h5")
    model.load_weights(tmp_path / "w.weights.h5")  # kernels now merged, adapters zeroed by Keras
    assert all(not np.any(p.lora_kernel_b.numpy()) for p in lora_projections(model))
    restore_adapter_state(model, state)
    for index, projection in enumerate(lora_projections(model)):
        np.testing.assert_array_equal(projection.lora_kernel_b.numpy(), state[f"{index}.lora_kernel_b"])
        np.testing.assert_array_equal(projection._kernel.numpy(), state[f"{index}.kernel"])  # noqa: SLF001
    np.testing.assert_allclose(np.asarray(model(inputs)), expected, atol=1e-6)


@pytest.mark.parametrize("rank, fragment", [(0, "positive integer"), (9, "larger than the width 8"),
                                            (True, "positive integer")])
def test_bad_ranks_are_refused(rank, fragment):
    with pytest.raises(UserInputError, match=fragment):
        apply_lora(build_bert_classifier(CONFIG, 2), rank)


def test_a_model_without_attention_is_refused():
    with pytest.raises(UserInputError, match="no Transformer"):
        apply_lora(build_bilstm_classifier(50, 2, embedding_dim=8, units=8), 2)
