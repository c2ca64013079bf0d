"""ByteBPETokenizer: agreement with Hugging Face `tokenizers`, byte-level round trips,
graph use (tf.function, tf.data, SavedModel), save/load and bad input."""

from pathlib import Path

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import models, pre_tokenizers

from keras_llm.tokenizers import END_TOKEN, ByteBPETokenizer, load_tokenizer
from keras_llm.tokenizers.byte_bpe import byte_to_unicode

CORPUS = Path(__file__).parents[2] / "data" / "tiny_shakespeare" / "input.txt"
TRAIN_CHARS = 100_000
ODD_STRINGS = ["", " ", "   ", "  hello   world  ", "a\n\n\nb", " \n x", "x\r\ny", "\t\ttab",
               "it's I'LL don't 123 4567", "你好，世界 😀 ok", "a\u00a0b\u3000c\u2009d", "e\u0301",
               "👩‍👩‍👧 family", "ok?!... ---", "A1b2 33", "a\x00b", " \x00 x\x00", "ĴAUDO ĴA ĴB"]


@pytest.fixture(scope="module")
def shakespeare():
    return CORPUS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tok(shakespeare):
    return ByteBPETokenizer.train(shakespeare[:TRAIN_CHARS], vocab_size=512)


def _library_tokenizer(tok):
    """The Hugging Face `tokenizers` encoder for the same vocabulary and merges."""
    vocab = {t: i for i, t in enumerate(tok.vocabulary)}
    hf = HFTokenizer(models.BPE(vocab, [tuple(m.split(" ")) for m in tok.merges]))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    hf.add_special_tokens([END_TOKEN])
    return hf


def test_vocabulary_layout(tok):
    assert tok.vocab_size == 512 and len(tok.merges) == 512 - 257
    assert tok.end_token_id == 0 and tok.vocabulary[0] == END_TOKEN
    assert set(byte_to_unicode().values()) == set(pre_tokenizers.ByteLevel.alphabet())
    assert set(byte_to_unicode().values()) <= set(tok.vocabulary)
    assert byte_to_unicode()[ord(" ")] == "Ġ" and byte_to_unicode()[ord("\n")] == "Ċ"


def test_graph_encoding_equals_library_encoding(tok, shakespeare):
    hf = _library_tokenizer(tok)
    # Held-out lines and multi-line chunks (runs of spaces and newlines), plus odd text.
    held_out = shakespeare[TRAIN_CHARS:TRAIN_CHARS + 60_000]
    lines = held_out.splitlines()[:400]
    chunks = [held_out[i:i + 700] for i in range(0, 35_000, 700)]
    texts = lines + chunks + ODD_STRINGS + [f"end{END_TOKEN}start"]
    ours = tok.tokenize(texts).to_list()
    assert ours == [e.ids for e in hf.encode_batch(texts)]


def test_literal_end_token_is_one_id(tok):
    ids = tok.encode(f"fin{END_TOKEN}{END_TOKEN} ")
    assert ids[-3:] == [tok.end_token_id, tok.end_token_id, tok.encode(" ")[0]]
    assert tok.decode(ids) == f"fin{END_TOKEN}{END_TOKEN} "


def test_characters_keras_hub_mishandles_round_trip(tok):
    # keras-hub deletes "६" (its internal marker) and tf-text stops at NUL; both are
    # cut out before keras-hub sees the text.
    texts = ["१६ ६६ x६y", "a\x00b\x00", "\x00", "६", "ĴA"]
    assert [tok.decode(tok.encode(t)) for t in texts] == texts


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=8))
def test_any_unicode_text_round_trips(tok, texts):
    decoded = tok.detokenize(tok.tokenize(texts)).numpy()
    assert [t.decode("utf-8") for t in decoded] == texts


def test_invalid_utf8_round_trips_byte_for_byte(tok):
    raw = [b"ab\xff\xfe c\xe4\xbd", b"\xc3", b"ok"]
    fn = tf.function(tok.tokenize, input_signature=[tf.TensorSpec([None], tf.string)])
    assert tok.detokenize(fn(tf.constant(raw))).numpy().tolist() == raw


def test_shapes_and_python_helpers(tok):
    ids = tok.tokenize(tf.constant(["To be, or not", "", "你好"]))
    assert isinstance(ids, tf.RaggedTensor) and ids.dtype == tf.int32
    assert ids.shape.as_list() == [3, None] and ids.row_lengths()[1] == 0
    assert tok.tokenize("To be, or not").numpy().tolist() == ids[0].numpy().tolist()
    assert tok.encode("To be, or not") == ids[0].numpy().tolist()
    assert tok.decode(tok.encode("你好 😀")) == "你好 😀"
    assert tok.encode("") == [] and tok.decode([]) == ""


def test_out_of_range_ids_are_dropped(tok):
    hi = tok.encode("hi")
    assert tok.decode([-1] + hi + [512, 10**9]) == "hi"
    dense = tf.constant([hi + [600], [-7, -7] + hi[:1]])
    assert tok.detokenize(dense).numpy().tolist() == [b"hi", tok.decode(hi[:1]).encode()]


def test_tf_function_and_dataset_map(tok, shakespeare):
    lines = shakespeare.splitlines()[:12]
    expected = tok.tokenize(lines).to_list()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(strings):
        ids = tok.tokenize(strings)
        return ids.to_tensor(), tok.detokenize(ids)

    _, text = round_trip(tf.constant(lines))
    assert [t.decode() for t in text.numpy()] == lines
    scalar = tf.data.Dataset.from_tensor_slices(lines).map(tok.tokenize)
    assert [x.numpy().tolist() for x in scalar] == expected
    batched = tf.data.Dataset.from_tensor_slices(lines).batch(5).map(tok.tokenize)
    assert [row for b in batched for row in b.to_list()] == expected


def test_saved_model_round_trip(tok, tmp_path):
    class Serving(tf.Module):
        def __init__(self, tokenizer):
            super().__init__()
            self.tokenizer = tokenizer

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, strings):
            ids = self.tokenizer.tokenize(strings)
            return {"ids": ids.to_tensor(-1), "text": self.tokenizer.detokenize(ids)}

    texts = tf.constant(["To be, or not to be", "你好 😀", "", f"a{END_TOKEN}"])
    expected = Serving(tok)(texts)
    tf.saved_model.save(Serving(tok), str(tmp_path / "sm"))
    reloaded = tf.saved_model.load(str(tmp_path / "sm"))(texts)
    assert reloaded["ids"].numpy().tolist() == expected["ids"].numpy().tolist()
    assert reloaded["text"].numpy().tolist() == texts.numpy().tolist()


def test_save_load_round_trip(tok, shakespeare, tmp_path):
    tok.save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"tokenizer.json", "vocab.json", "merges.txt"}
    loaded = load_tokenizer(tmp_path)
    assert isinstance(loaded, ByteBPETokenizer) and loaded.vocabulary == tok.vocabulary
    sample = [shakespeare[:3000], "你好 😀", END_TOKEN]
    assert loaded.tokenize(sample).to_list() == tok.tokenize(sample).to_list()
    assert ByteBPETokenizer.load(tmp_path).end_token_id == tok.end_token_id


def test_train_from_files_equals_train_from_text(shakespeare, tmp_path):
    text = shakespeare[:20_000]
    cut = text.index("\n", 9_000) + 1  # files end at a line end, like pieces of one text
    (tmp_path / "a.txt").write_text(text[:cut], encoding="utf-8")
    (tmp_path / "b.txt").write_text(text[cut:], encoding="utf-8")
    from_text = ByteBPETokenizer.train(text, vocab_size=300)
    from_list = ByteBPETokenizer.train([tmp_path / "a.txt", str(tmp_path / "b.txt")], 300)
    assert from_text.vocab_size == 300 and from_list.merges == from_text.merges
    from_file = ByteBPETokenizer.train(tmp_path / "a.txt", vocab_size=300)
    assert from_file.merges == ByteBPETokenizer.train(text[:cut], vocab_size=300).merges


def test_minimal_vocabulary_is_plain_bytes():
    tok = ByteBPETokenizer.train("abc abc", vocab_size=258, special_tokens=["<pad>"])
    assert tok.vocab_size == 258 and tok.vocabulary[:2] == [END_TOKEN, "<pad>"]
    assert len(tok.encode("abc")) == 3 and tok.encode("x<pad>")[1] == 1
    assert tok.decode(tok.encode(f"<pad>x{END_TOKEN}")) == f"<pad>x{END_TOKEN}"


def test_bad_input_raises_value_error(tmp_path):
    with pytest.raises(ValueError, match="empty corpus"):
        ByteBPETokenizer.train("", vocab_size=512)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="empty corpus"):
        ByteBPETokenizer.train(tmp_path / "empty.txt", vocab_size=512)
    with pytest.raises(ValueError, match="not found"):
        ByteBPETokenizer.train([tmp_path / "missing.txt"], vocab_size=512)
    with pytest.raises(ValueError, match="at least 257"):
        ByteBPETokenizer.train("some text", vocab_size=256)
    with pytest.raises(ValueError, match="256 byte symbols"):
        ByteBPETokenizer({"a": 0, END_TOKEN: 1}, [])
