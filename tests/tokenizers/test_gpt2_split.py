"""GPT-2's pre-tokenisation (gpt2_split) and GPT2Tokenizer against Hugging Face `tokenizers` (the Rust
library transformers' GPT2TokenizerFast runs), on random texts built from the characters where rewrites
of GPT-2's regex go wrong. `-m slow`: the kind of every Unicode code point."""

import random

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

from keras_llm.tokenizers import END_TOKEN, GPT2Tokenizer
from keras_llm.tokenizers.byte_bpe import byte_to_unicode
from keras_llm.tokenizers.gpt2_split import gpt2_split
from tests.checkpoints.gpt2_fixture import FIXTURE

HF_SPLIT = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
_BYTE_OF = {char: byte for byte, char in byte_to_unicode().items()}
# Contraction letters, apostrophes, every kind of space, letters/numbers of many scripts, marks, emoji
# parts, NUL and "६" (which keras-hub uses as an internal marker), plus whole words and contractions.
ALPHABET = (list("aZsdtmrevlSTM'1 \t\n\r\x0b\x0c!.,-_é中٣½Ⅻ\u2003\u00a0\u2028\u2029\u3000\x85\u200b\u200d\u0301\x00६")
            + ["😀", "👍🏽", "'s", "'re", "'ll", "'ve", "  ", " the", "ing", "\r\n", END_TOKEN])
TEXTS = st.lists(st.sampled_from(ALPHABET), max_size=24).map("".join)


def hf_pieces(text):
    return [bytes(_BYTE_OF[c] for c in piece) for piece, _ in HF_SPLIT.pre_tokenize_str(text)]


@pytest.fixture(scope="module")
def gpt2_tokenizers():
    """(ours, Hugging Face's) over GPT-2's real vocabulary and merges."""
    ours = GPT2Tokenizer.from_files(FIXTURE / "vocab.json", FIXTURE / "merges.txt")
    theirs = Tokenizer(models.BPE.from_file(str(FIXTURE / "vocab.json"), str(FIXTURE / "merges.txt")))
    theirs.pre_tokenizer = HF_SPLIT
    theirs.add_special_tokens([AddedToken(END_TOKEN, special=True)])
    return ours, theirs


@settings(max_examples=25, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=20))
def test_pieces_equal_hugging_face(texts):
    assert gpt2_split(tf.constant(texts)).to_list() == [hf_pieces(text) for text in texts]


def test_ids_equal_hugging_face_on_random_texts(gpt2_tokenizers):
    ours, theirs = gpt2_tokenizers
    rng = random.Random(22)
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40))) for _ in range(500)]
    assert ours.tokenize(tf.constant(texts)).to_list() == [theirs.encode(text).ids for text in texts]


@pytest.mark.parametrize("raw", [b"\xff abc", b"caf\xc3", b"\xc3(", b"\xe2\x82 x", b"\xed\xa0\x80", b"\xc0\xaf",
                                 b"\xf4\x90\x80\x80", b"a\x80\x80b"])
def test_invalid_utf8_reads_as_python_replaces_it(gpt2_tokenizers, raw):
    ours, theirs = gpt2_tokenizers
    assert ours.tokenize(tf.constant([raw])).to_list()[0] == theirs.encode(raw.decode("utf-8", "replace")).ids


def test_in_a_graph_and_round_trip(gpt2_tokenizers):
    ours, _ = gpt2_tokenizers
    text = "Hello world's  end\n中 😀<|endoftext|>"
    encode = tf.function(lambda s: ours.tokenize(s).to_tensor(), input_signature=[tf.TensorSpec([None], tf.string)])
    assert encode(tf.constant([text])).numpy()[0].tolist() == ours.encode(text)
    assert ours.decode(ours.encode(text)) == text
    assert ours.encode("Hello world") == [15496, 995]  # GPT-2's ids, from its vocabulary


@pytest.mark.slow  # 1.1M code points through Hugging Face one by one: about a minute
def test_every_code_point_is_of_hugging_faces_kind():
    code_points = [c for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    wrong = []
    for start in range(0, len(code_points), 100_000):
        chars = [chr(c) for c in code_points[start:start + 100_000]]
        # Each character between letters, after a space, beside numbers and itself, before a contraction.
        texts = [f"a{c}b {c}1{c}{c}'s{c} " for c in chars]
        got = gpt2_split(tf.constant(texts)).to_list()
        wrong += [hex(ord(c)) for c, text, pieces in zip(chars, texts, got) if pieces != hf_pieces(text)]
    assert not wrong, wrong[:50]
