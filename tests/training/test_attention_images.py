"""The attention-map probe on a BERT classifier and a translator (no training): the weights it
records are the layers' own, the example is cut to its real tokens, and the callback writes one
image per attention layer, labelled by stream, at the optimizer step."""

import keras
import numpy as np
from tensorboard.backend.event_processing import event_accumulator

from keras_llm.models.bert import BertConfig
from keras_llm.models.bert_classifier import build_bert_classifier
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer
from keras_llm.training.attention_images import (
    AttentionImages,
    attention_example,
    attention_maps,
    layer_streams,
    token_labels,
)


def _bert_batch():
    ids = np.array([[2, 5, 6, 7, 3, 0, 0], [2, 8, 3, 0, 0, 0, 0]], dtype=np.int32)
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": (ids > 0).astype(np.int32)}


def test_the_example_is_the_first_row_cut_to_its_real_tokens():
    example, streams = attention_example(_bert_batch())
    assert streams == {"tokens": [2, 5, 6, 7, 3]}
    assert {key: value.shape for key, value in example.items()} == {key: (1, 5) for key in _bert_batch()}
    masked = {**_bert_batch(), "mask_positions": np.array([[1, 6, 3], [1, 2, 0]], dtype=np.int32)}
    assert attention_example(masked)[0]["mask_positions"].tolist() == [[1, 3]]  # position 6 is padding
    pairs = {"encoder_token_ids": np.array([[4, 5, 6, 0], [4, 0, 0, 0]]),
             "decoder_token_ids": np.array([[1, 9, 0, 0], [1, 8, 7, 0]])}
    assert attention_example(pairs)[1] == {"source": [4, 5, 6], "target": [1, 9]}
    gpt, streams = attention_example(np.arange(100).reshape(2, 50), max_tokens=32)
    assert gpt.shape == (1, 32) and streams["tokens"] == list(range(32))


def test_recorded_bert_weights_are_the_layers_own_and_leave_outputs_alone():
    model = build_bert_classifier(BertConfig(vocab_size=20, hidden_dim=16, num_layers=2, num_heads=2), 3)
    batch = _bert_batch()
    before = keras.ops.convert_to_numpy(model(batch, training=False))
    maps = attention_maps(model, {key: value[:1] for key, value in batch.items()})
    after = keras.ops.convert_to_numpy(model(batch, training=False))
    np.testing.assert_array_equal(before, after)

    assert [path for path, _ in maps] == ["encoder_block_0/self_attention", "encoder_block_1/self_attention"]
    first = maps[0][1]
    assert first.shape == (2, 7, 7)
    np.testing.assert_allclose(first[:, :5].sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(first[:, :, 5:], 0.0)  # padding is never attended to (and never attends)
    np.testing.assert_array_equal(first[:, 5:], 0.0)
    # The same weights the first block's attention layer returns when asked, on that block's input.
    backbone = model.get_layer("bert_backbone")
    embeddings = keras.Model(backbone.inputs, backbone.get_layer("embeddings_dropout").output)
    block_input = embeddings({key: value[:1] for key, value in batch.items()})
    real = batch["padding_mask"][:1] > 0
    attend = real[:, :, None] & real[:, None, :]  # real tokens attend to real tokens, as the block masks
    _, expected = backbone.get_layer("encoder_block_0").self_attention(
        block_input, attention_mask=attend, return_attention_scores=True)
    np.testing.assert_allclose(first, keras.ops.convert_to_numpy(expected)[0], atol=1e-6)


def _reader(log_dir, run):
    accumulator = event_accumulator.EventAccumulator(str(log_dir / run), size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def test_translator_images_one_per_attention_layer_at_the_step(tmp_path):
    model = build_seq2seq_transformer(Seq2SeqConfig(12, 14, num_encoder_layers=1, num_decoder_layers=1, num_heads=2,
                                                    hidden_dim=16, max_source_length=8, max_target_length=8))
    inputs = {"encoder_token_ids": np.array([[4, 5, 6, 7, 0]], np.int32),
              "decoder_token_ids": np.array([[1, 9, 10, 0, 0]], np.int32)}
    maps = dict(attention_maps(model, attention_example(inputs)[0]))
    assert {path: weights.shape for path, weights in maps.items()} == {
        "encoder_block_0/self_attention": (2, 4, 4), "decoder_block_0/self_attention": (2, 3, 3),
        "decoder_block_0/cross_attention": (2, 3, 4)}
    np.testing.assert_array_equal(np.triu(maps["decoder_block_0/self_attention"][0], 1), 0.0)  # causal
    streams = {"source": [4, 5, 6, 7], "target": [1, 9, 10]}
    assert layer_streams("decoder_block_0/cross_attention", streams) == ("target", "source")
    assert layer_streams("encoder_block_0/self_attention", streams) == ("source", "source")
    assert layer_streams("decoder_block_3/self_attention", {"tokens": [1]}) == ("tokens", "tokens")

    source_words = [f"s{i}" for i in range(12)]
    callback = AttentionImages(tmp_path, [(inputs, None)], vocabulary={"source": source_words, "target": None})
    callback.set_model(model)
    callback.set_params({"epochs": 2, "steps": 25})
    callback.on_epoch_begin(1)
    callback.on_train_batch_end(24)
    callback.on_epoch_end(1)
    callback.on_train_end()
    attention = _reader(tmp_path, "attention")
    assert sorted(attention.Tags()["tensors"]) == sorted(maps)
    for tag in maps:
        (event,) = attention.Tensors(tag)
        assert event.step == 50 and event.tensor_proto.string_val[2].startswith(b"\x89PNG")


def test_token_labels_show_whitespace_and_unknown_ids():
    assert token_labels([0, 1, 2, 9], ["\n", " ", "to be"]) == ["\\n", "·", "to·be", "#9"]
    assert token_labels([3], None) == ["#3"]
