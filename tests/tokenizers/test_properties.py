"""Property tests (hypothesis): the tokenizers never crash on arbitrary Unicode or bytes, and
the character tokenizer round-trips up to its documented rule (unknown characters are dropped).
The byte-level BPE round trip is in test_byte_bpe.py (every string comes back unchanged)."""

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_llm.tokenizers import CharTokenizer, WordPieceTokenizer

# A vocabulary with ASCII, accents, CJK and an emoji, so generated text is partly known, partly not.
CHAR_CORPUS = "abcdefghijklmnopqrstuvwxyz ABC.,;!?\n\t0123456789éüß中文字😀"
WORDPIECE_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat",
                        "##s", "##ed", "a", "b", "c", "中", "文", ".", ",", "!", "é"]
unicode_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
texts = st.lists(unicode_text, min_size=0, max_size=6)


@pytest.fixture(scope="module")
def char_tok():
    return CharTokenizer.train(CHAR_CORPUS)


@pytest.fixture(scope="module")
def wordpiece():
    return WordPieceTokenizer(WORDPIECE_VOCABULARY)


@settings(max_examples=60, deadline=None)
@given(texts)
def test_char_round_trip_drops_only_unknown_characters(char_tok, batch):
    known = set(char_tok.vocabulary)
    decoded = [text.decode("utf-8") for text in char_tok.detokenize(char_tok.tokenize(batch)).numpy()]
    assert decoded == ["".join(c for c in text if c in known) for text in batch]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=4))
def test_char_never_crashes_on_arbitrary_bytes(char_tok, raw):
    ids = char_tok.tokenize(tf.constant(raw, tf.string))
    assert ids.shape[0] == len(raw)
    assert all(0 <= i < char_tok.vocab_size for row in ids.to_list() for i in row)


@settings(max_examples=60, deadline=None)
@given(texts)
def test_wordpiece_never_crashes_and_ids_are_in_range(wordpiece, batch):
    ids = wordpiece.tokenize(tf.constant(batch, tf.string)).to_list()
    assert len(ids) == len(batch)
    assert all(0 <= i < len(WORDPIECE_VOCABULARY) for row in ids for i in row)
    for text, row in zip(batch, ids):
        if not text.strip():  # whitespace only: nothing to tokenize
            assert row == []


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=0, max_size=4), st.integers(min_value=2, max_value=16))
def test_wordpiece_encode_batch_has_fixed_shapes_on_any_bytes(wordpiece, raw, max_length):
    encoded = wordpiece.encode_batch(tf.constant(raw, tf.string), max_length=max_length)
    shape = tuple(encoded["token_ids"].shape)
    assert shape[0] == len(raw) and shape[1] <= max_length
    for name in ("segment_ids", "padding_mask"):
        assert tuple(encoded[name].shape) == shape
