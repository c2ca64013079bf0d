"""The encoder–decoder builder: shapes, masks (causal, padding), vocabularies, save/load, names."""

import keras
import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer, seq2seq_layers

TINY = dict(source_vocabulary_size=19, target_vocabulary_size=23, num_encoder_layers=2, num_decoder_layers=2,
            num_heads=2, hidden_dim=16, max_source_length=10, max_target_length=9, dropout=0.0)


def _inputs(rng, batch=2, src=8, tgt=6):
    return {"encoder_token_ids": rng.integers(1, 19, size=(batch, src)).astype("int32"),
            "decoder_token_ids": rng.integers(1, 23, size=(batch, tgt)).astype("int32")}


@pytest.mark.parametrize("norm_first", [True, False])
def test_shapes_and_causal_decoder(rng, norm_first):
    model = build_seq2seq_transformer(Seq2SeqConfig(**TINY, norm_first=norm_first))
    inputs = _inputs(rng)
    logits = model(inputs).numpy()
    assert logits.shape == (2, 6, 23) and logits.dtype == np.float32
    changed = {**inputs, "decoder_token_ids": inputs["decoder_token_ids"].copy()}
    changed["decoder_token_ids"][:, 4:] = changed["decoder_token_ids"][:, 4:] % 22 + 1
    after = model(changed).numpy()
    np.testing.assert_allclose(after[:, :4], logits[:, :4], atol=1e-5)
    assert not np.allclose(after[:, 4:], logits[:, 4:], atol=1e-4)


def test_source_padding_is_ignored(rng):
    model = build_seq2seq_transformer(Seq2SeqConfig(**TINY, norm_first=False))
    inputs = _inputs(rng, batch=1, src=5)
    padded = {**inputs, "encoder_token_ids": np.pad(inputs["encoder_token_ids"], [[0, 0], [0, 4]])}
    np.testing.assert_allclose(model(padded), model(inputs), atol=1e-5)
    # Every source token matters (cross-attention reads the encoder).
    other = {**inputs, "encoder_token_ids": inputs["encoder_token_ids"] % 18 + 1}
    assert not np.allclose(model(other), model(inputs), atol=1e-4)


def test_target_padding_does_not_change_real_positions(rng):
    model = build_seq2seq_transformer(Seq2SeqConfig(**TINY))
    inputs = _inputs(rng, batch=1, tgt=4)
    padded = {**inputs, "decoder_token_ids": np.pad(inputs["decoder_token_ids"], [[0, 0], [0, 3]])}
    np.testing.assert_allclose(model(padded).numpy()[:, :4], model(inputs), atol=1e-5)


def test_vocabulary_options_and_layer_names():
    tied = build_seq2seq_transformer(Seq2SeqConfig(**TINY))
    untied = build_seq2seq_transformer(Seq2SeqConfig(**TINY, tie_target_embeddings=False))
    assert untied.count_params() == tied.count_params() + 16 * 23 + 23
    parts = seq2seq_layers(untied)
    assert parts["lm_head"] is not None and len(parts["encoder_blocks"]) == 2 and len(parts["decoder_blocks"]) == 2
    assert seq2seq_layers(tied)["lm_head"] is None
    assert parts["encoder_final_norm"].name == "encoder_final_norm"
    shared_config = Seq2SeqConfig(**{**TINY, "source_vocabulary_size": 23}, shared_vocabulary=True)
    shared = build_seq2seq_transformer(shared_config)
    separate = build_seq2seq_transformer(Seq2SeqConfig(**{**TINY, "source_vocabulary_size": 23}))
    assert separate.count_params() - shared.count_params() == 23 * 16
    parts = seq2seq_layers(shared)
    assert parts["encoder_token_embedding"] is parts["decoder_token_embedding"]
    post_ln = seq2seq_layers(build_seq2seq_transformer(Seq2SeqConfig(**TINY, norm_first=False)))
    assert post_ln["encoder_final_norm"] is None and post_ln["decoder_final_norm"] is None


@pytest.mark.parametrize("options", [dict(), dict(shared_vocabulary=True, source_vocabulary_size=23,
                                                  tie_target_embeddings=False, position="sinusoidal")])
def test_save_and_load_round_trip(tmp_path, rng, options):
    model = build_seq2seq_transformer(Seq2SeqConfig(**{**TINY, "dropout": 0.1, **options}))
    inputs = _inputs(rng)
    path = tmp_path / "seq2seq.keras"
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored(inputs), model(inputs), atol=1e-6)
    assert len(seq2seq_layers(restored)["decoder_blocks"]) == 2


def test_config_json_round_trip():
    config = Seq2SeqConfig(**TINY)
    assert config.intermediate_dim == 64
    import json
    assert Seq2SeqConfig.from_dict(json.loads(config.to_json())) == config


@pytest.mark.parametrize("bad", [dict(num_heads=3), dict(hidden_dim=0), dict(dropout=1.0), dict(position="rope"),
                                 dict(shared_vocabulary=True), dict(max_source_length=0)])
def test_bad_config(bad):
    with pytest.raises(UserInputError):
        Seq2SeqConfig(**{**TINY, **bad})


def test_not_a_seq2seq_model():
    inputs = keras.Input((3,))
    with pytest.raises(ValueError, match="build_seq2seq_transformer"):
        seq2seq_layers(keras.Model(inputs, keras.layers.Dense(2)(inputs)))
