"""int8 post-training quantization (keras_llm.models.quantization): the projections become int8, the
model computes nearly what it did, survives save/load (which Keras alone cannot do for nested projections)."""

import keras
import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.models import GPTConfig, build_gpt
from keras_llm.models.quantization import (
    load_quantized_model,
    quantization_mode,
    quantize_model,
    saved_quantization_mode,
)
from keras_llm.runs.layout import load_keras_model

CONFIG = GPTConfig(vocab_size=40, max_length=16, num_layers=1, num_heads=2, hidden_dim=32)


@pytest.mark.slow  # default-suite budget (2026-11-30): library-level; the quantize console-script test covers int8 runs
def test_quantized_gpt_is_close_and_reloads_exactly(rng, tmp_path):
    model = build_gpt(CONFIG)
    tokens = rng.integers(0, 40, (2, 16)).astype("int32")
    expected = np.asarray(model(tokens))
    quantize_model(model)
    assert quantization_mode(model) == "int8"
    quantized = np.asarray(model(tokens))
    # int8 weights and activations: close to the float logits, not equal to them.
    assert 0 < np.abs(quantized - expected).max() < 0.05 * np.abs(expected).max()
    kernels = {v.path: v.dtype for v in model.weights if v.path.endswith("/kernel")}
    assert kernels and all(dtype == "int8" for dtype in kernels.values()), kernels
    model.save(tmp_path / "int8.keras")
    with pytest.raises(ValueError):  # what this module is for: Keras cannot reload the nested int8 kernels
        keras.models.load_model(tmp_path / "int8.keras", compile=False)
    assert saved_quantization_mode(tmp_path / "int8.keras") == "int8"
    for reloaded in (load_quantized_model(tmp_path / "int8.keras"), load_keras_model(str(tmp_path / "int8.keras"))):
        np.testing.assert_array_equal(np.asarray(reloaded(tokens)), quantized)


def test_quantizing_twice_or_an_unknown_mode_is_refused():
    model = build_gpt(CONFIG)
    with pytest.raises(UserInputError, match="not supported"):
        quantize_model(model, "int3")
    quantize_model(model)
    with pytest.raises(UserInputError, match="already quantized"):
        quantize_model(model)


def test_a_float_file_is_not_taken_for_a_quantized_one(tmp_path):
    build_gpt(CONFIG).save(tmp_path / "float.keras")
    assert saved_quantization_mode(tmp_path / "float.keras") is None
