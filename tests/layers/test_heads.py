"""The head/pooler layers (layers/heads.py): shapes, dtypes, .keras round trips, and the registered names
under which files saved before they moved from keras_llm.models still load."""

import keras
import numpy as np
import pytest

from keras_llm.layers import FirstToken, GatherPositions, MLMBias, PaddingMaskToBool


def test_first_token_takes_position_zero():
    x = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(FirstToken()(x)), x[:, 0, :])


def test_gather_positions_picks_rows_per_example():
    x = np.arange(2 * 4 * 3, dtype="float32").reshape(2, 4, 3)
    positions = np.array([[3, 0], [1, 1]], "int32")
    out = keras.ops.convert_to_numpy(GatherPositions()(x, positions))
    np.testing.assert_array_equal(out, np.stack([x[0, [3, 0]], x[1, [1, 1]]]))


def test_mlm_bias_adds_in_float32():
    layer = MLMBias(5)
    out = layer(np.zeros((2, 3, 5), "float16"))
    assert keras.backend.standardize_dtype(out.dtype) == "float32" and out.shape == (2, 3, 5)
    layer.bias.assign(np.arange(5, dtype="float32"))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(np.ones((1, 5), "float32")))[0], 1 + np.arange(5))


def test_padding_mask_to_bool():
    out = PaddingMaskToBool()(np.array([[1, 1, 0]], "int32"))
    assert keras.backend.standardize_dtype(out.dtype) == "bool"
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), [[True, True, False]])


def test_heads_round_trip_through_keras_file(tmp_path):
    sequence = keras.Input((6, 8))
    positions = keras.Input((2,), dtype="int32")
    mask = keras.Input((6,), dtype="int32")
    gathered = GatherPositions()(sequence, positions)
    logits = MLMBias(8)(gathered)
    pooled = FirstToken()(sequence)
    as_bool = PaddingMaskToBool()(mask)
    model = keras.Model([sequence, positions, mask], [logits, pooled, as_bool])
    model.get_layer(index=4).bias.assign(np.linspace(-1, 1, 8).astype("float32"))
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(2, 6, 8)).astype("float32"), np.array([[1, 5], [0, 2]], "int32"),
         np.array([[1] * 6, [1, 1, 1, 0, 0, 0]], "int32")]
    expected = model(x)
    model.save(tmp_path / "heads.keras")
    restored = keras.models.load_model(tmp_path / "heads.keras", safe_mode=True)
    for got, want in zip(restored(x), expected):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want))


@pytest.mark.parametrize("layer, registered, old_module", [
    (FirstToken, "_FirstToken", "keras_llm.models.bert"),
    (GatherPositions, "GatherPositions", "keras_llm.models.bert_mlm"),
    (MLMBias, "MLMBias", "keras_llm.models.bert_mlm"),
    (PaddingMaskToBool, "PaddingMaskToBool", "keras_llm.models.token_classifier"),
])
def test_files_saved_before_the_move_still_load(layer, registered, old_module):
    assert keras.saving.get_registered_name(layer) == f"keras_llm>{registered}"
    # A layer entry as a .keras file written when the class lived in keras_llm.models says it.
    config = {"name": "head", "trainable": True, "dtype": "float32"}
    if layer is MLMBias:
        config["vocab_size"] = 4
    old_entry = {"module": old_module, "class_name": registered, "config": config,
                 "registered_name": f"keras_llm>{registered}"}
    assert type(keras.saving.deserialize_keras_object(old_entry)) is layer


def test_old_import_paths_are_the_moved_classes():
    from keras_llm.models.bert import _FirstToken
    from keras_llm.models.bert_mlm import GatherPositions as OldGather
    from keras_llm.models.bert_mlm import MLMBias as OldBias
    from keras_llm.models.token_classifier import PaddingMaskToBool as OldMask

    assert (_FirstToken, OldGather, OldBias, OldMask) == (FirstToken, GatherPositions, MLMBias, PaddingMaskToBool)
