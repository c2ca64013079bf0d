"""CharTokenizer: nanoGPT vocabulary, unknown characters, graph use, save/load."""

from pathlib import Path

import pytest
import tensorflow as tf

from keras_llm.tokenizers import CharTokenizer, load_tokenizer

CORPUS = Path(__file__).parents[2] / "data" / "tiny_shakespeare" / "input.txt"


@pytest.fixture(scope="module")
def shakespeare():
    with open(CORPUS, encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="module")
def tok(shakespeare):
    return CharTokenizer.train(shakespeare)


def test_vocabulary_is_nanogpt_sorted_character_set(tok, shakespeare):
    assert tok.vocab_size == 65
    assert tok.vocabulary == sorted(set(shakespeare))
    assert tok.vocabulary[:2] == ["\n", " "]
    assert tok.end_token_id is None and tok.unknown_token_id is None


def test_round_trip_and_shapes(tok, shakespeare):
    lines = shakespeare.splitlines()[:50]
    ids = tok.tokenize(lines)
    assert isinstance(ids, tf.RaggedTensor) and ids.dtype == tf.int32
    assert ids.shape.as_list() == [50, None]
    assert ids.to_list()[0] == [tok.vocabulary.index(c) for c in lines[0]]
    assert [t.decode() for t in tok.detokenize(ids).numpy()] == lines
    # Dense (padded) input decodes too; the padding id 0 is "\n" here.
    assert tok.detokenize(ids.to_tensor()).shape == (50,)
    assert tok.decode(tok.encode(shakespeare[:1000])) == shakespeare[:1000]


def test_unknown_characters_are_dropped_by_default(tok):
    assert tok.decode(tok.encode("héllo€ wörld")) == "hllo wrld"
    assert tok.encode("€€€") == []


@pytest.mark.parametrize("unknown", ["\ufffd", "<unk>"])
def test_unknown_token_maps_unknown_characters(shakespeare, unknown):
    tok = CharTokenizer.train(shakespeare, unknown_token=unknown)
    assert tok.vocab_size == 66 and tok.unknown_token_id == 65
    assert tok.vocabulary[65] == unknown
    ids = tok.encode("a€b")
    assert ids == [tok.vocabulary.index("a"), 65, tok.vocabulary.index("b")]
    assert tok.decode(ids) == f"a{unknown}b"


def test_unknown_token_already_in_corpus_keeps_its_id():
    tok = CharTokenizer.train("ab?", unknown_token="?")
    assert tok.vocabulary == ["?", "a", "b"] and tok.encode("azb") == [1, 0, 2]


def test_invalid_utf8_does_not_crash_in_graph(tok):
    fn = tf.function(tok.tokenize, input_signature=[tf.TensorSpec([None], tf.string)])
    ids = fn(tf.constant([b"ab\xffc\xe4\xbd", b"\xc3"]))
    assert ids.to_list() == [tok.encode("abc"), []]
    with_unknown = CharTokenizer(tok.vocabulary, unknown_token="\ufffd")
    assert with_unknown.decode(with_unknown.tokenize([b"a\xffb"])[0].numpy()) == "a\ufffdb"


def test_empty_and_long_strings(tok):
    assert tok.encode("") == [] and tok.decode([]) == ""
    assert tok.tokenize(tf.constant([], tf.string)).shape[0] == 0
    long_text = ("To be, or not to be: that is the question.\n" * 2400)[:100_000]
    ids = tok.encode(long_text)
    assert len(ids) == 100_000 and tok.decode(ids) == long_text


def test_out_of_range_ids_are_dropped(tok):
    h, i = tok.vocabulary.index("h"), tok.vocabulary.index("i")
    assert tok.decode([h, 65, -1, 10**9, i]) == "hi"
    ragged = tf.ragged.constant([[h, 70], [-3, i]])
    assert tok.detokenize(ragged).numpy().tolist() == [b"h", b"i"]


def test_tf_function_and_dataset_map(tok):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(strings):
        return tok.detokenize(tok.tokenize(strings))

    assert round_trip(tf.constant(["Hello, world", ""])).numpy().tolist() == [b"Hello, world", b""]
    lines = ["First Citizen:", "Before we proceed", "Speak, speak."]
    scalar = tf.data.Dataset.from_tensor_slices(lines).map(tok.tokenize)
    assert [x.numpy().tolist() for x in scalar] == [tok.encode(s) for s in lines]
    batched = tf.data.Dataset.from_tensor_slices(lines).batch(2).map(tok.tokenize)
    assert [row for b in batched for row in b.to_list()] == [tok.encode(s) for s in lines]


def test_save_load_and_config_round_trip(tmp_path, shakespeare):
    tok = CharTokenizer.train(shakespeare, unknown_token="\ufffd")
    tok.save(tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert isinstance(loaded, CharTokenizer) and loaded.vocabulary == tok.vocabulary
    sample = shakespeare[:2000] + "€"
    assert loaded.encode(sample) == tok.encode(sample)
    assert CharTokenizer(**tok.get_config()).encode(sample) == tok.encode(sample)


def test_bad_input_raises_value_error(tmp_path):
    with pytest.raises(ValueError, match="empty corpus"):
        CharTokenizer.train("")
    with pytest.raises(ValueError, match="single characters"):
        CharTokenizer(["a", "bc"])
    with pytest.raises(ValueError, match="duplicate"):
        CharTokenizer(["a", "a"])
    with pytest.raises(ValueError, match="tokenizer.json"):
        load_tokenizer(tmp_path)
