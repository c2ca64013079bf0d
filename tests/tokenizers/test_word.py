"""WordTokenizer: vocabulary order, [UNK], min_frequency, spacing round trip, graph use, save/load."""

from pathlib import Path

import pytest
import tensorflow as tf

from keras_llm.tokenizers import WordTokenizer, load_tokenizer
from keras_llm.tokenizers.word import pre_tokenize

CORPUS = Path(__file__).parents[2] / "data" / "tiny_shakespeare" / "input.txt"


@pytest.fixture(scope="module")
def shakespeare():
    with open(CORPUS, encoding="utf-8") as f:
        return f.read()[:200_000]


@pytest.fixture(scope="module")
def tok(shakespeare):
    return WordTokenizer.train(shakespeare, min_frequency=2)


def test_vocabulary_unk_first_then_frequency_then_alphabetical():
    tok = WordTokenizer.train("b a c b a b\nd d", min_frequency=1)
    # b 3; a 2, d 2 (tie: alphabetical); "\n" 1, c 1 (tie: code point order, "\n" < "c").
    assert tok.vocabulary == ["[UNK]", "b", "a", "d", "\n", "c"]
    assert tok.unknown_token_id == 0 and tok.vocab_size == 6 and tok.end_token_id is None


def test_pre_tokenization_splits_punctuation_and_keeps_newlines():
    pieces = pre_tokenize(tf.constant(["Hello, world!\nBye.", "  don't\t'tis\r\n\nwörld (x)"])).to_list()
    assert pieces == [[b"Hello", b",", b"world", b"!", b"\n", b"Bye", b"."],
                      [b"don't", b"'", b"tis", b"\n", b"\n", "wörld".encode(), b"(", b"x", b")"]]


def test_min_frequency_and_max_vocab_size():
    text = "a a a b b c"
    assert WordTokenizer.train(text, min_frequency=1).vocabulary == ["[UNK]", "a", "b", "c"]
    assert WordTokenizer.train(text, min_frequency=2).vocabulary == ["[UNK]", "a", "b"]
    assert WordTokenizer.train(text, min_frequency=3).vocabulary == ["[UNK]", "a"]
    assert WordTokenizer.train(text, min_frequency=1, max_vocab_size=2).vocabulary == ["[UNK]", "a"]


def test_unknown_words_map_to_unk(tok):
    ids = tok.encode("the zyzzyva said")
    assert ids[1] == 0 and ids[0] == tok.vocabulary.index("the") and ids[2] == tok.vocabulary.index("said")
    assert tok.decode(ids) == "the [UNK] said"


def test_lowercase():
    tok = WordTokenizer.train("The the THE cat", min_frequency=1, lowercase=True)
    assert tok.vocabulary == ["[UNK]", "the", "cat"]
    assert tok.encode("THE Cat") == [1, 2] and tok.decode([1, 2]) == "the cat"


def test_round_trip_of_normalised_text(tok):
    small = WordTokenizer.train("Hello, world!\nBye.", min_frequency=1)
    assert small.decode(small.encode("Hello, world!\nBye.")) == "Hello, world!\nBye."
    assert small.decode(small.encode("Hello ,world !\n Bye .")) == "Hello, world!\nBye."  # normalised
    text = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak."
    assert tok.decode(tok.encode(text)) == text
    brackets = WordTokenizer.train("a (b) [c], d.", min_frequency=1)
    assert brackets.decode(brackets.encode("a (b) [c], d.")) == "a (b) [c], d."


def test_empty_strings_and_shapes(tok):
    assert tok.encode("") == [] and tok.decode([]) == ""
    assert tok.encode(" \n ") == [tok.vocabulary.index("\n")]
    assert tok.tokenize(tf.constant([], tf.string)).shape[0] == 0
    ids = tok.tokenize(["Speak, speak.", ""])
    assert isinstance(ids, tf.RaggedTensor) and ids.dtype == tf.int32 and ids.shape.as_list() == [2, None]
    assert ids.to_list()[1] == []
    assert tok.detokenize(ids).numpy().tolist() == [b"Speak, speak.", b""]
    # Dense input with -1 padding: the padding is dropped.
    assert tok.detokenize(ids.to_tensor(default_value=-1)).numpy().tolist() == [b"Speak, speak.", b""]


def test_out_of_range_ids_are_dropped(tok):
    the, end = tok.vocabulary.index("the"), tok.vocabulary.index("end")
    assert tok.decode([the, tok.vocab_size, -1, 10**9, end]) == "the end"


def test_invalid_utf8_does_not_crash(tok):
    assert tok.tokenize([b"the \xff end"]).to_list() == [[tok.vocabulary.index("the"), 0,
                                                          tok.vocabulary.index("end")]]


def test_tf_function_and_dataset_map(tok):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(strings):
        return tok.detokenize(tok.tokenize(strings))

    assert round_trip(tf.constant(["Speak, speak.", ""])).numpy().tolist() == [b"Speak, speak.", b""]
    lines = ["First Citizen:", "Before we proceed", "Speak, speak.\nAll:"]
    scalar = tf.data.Dataset.from_tensor_slices(lines).map(tok.tokenize)
    assert [x.numpy().tolist() for x in scalar] == [tok.encode(s) for s in lines]
    batched = tf.data.Dataset.from_tensor_slices(lines).batch(2).map(tok.tokenize)
    assert [row for b in batched for row in b.to_list()] == [tok.encode(s) for s in lines]


def test_save_load_and_config_round_trip(tmp_path, shakespeare):
    tok = WordTokenizer.train(shakespeare, min_frequency=3, lowercase=True)
    tok.save(tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert isinstance(loaded, WordTokenizer) and loaded.vocabulary == tok.vocabulary and loaded.lowercase
    sample = shakespeare[:3000] + " zyzzyva"
    assert loaded.encode(sample) == tok.encode(sample)
    assert WordTokenizer(**tok.get_config()).encode(sample) == tok.encode(sample)
    assert WordTokenizer.load(tmp_path).decode(tok.encode(sample)) == tok.decode(tok.encode(sample))


def test_bad_input_raises_value_error(tmp_path):
    with pytest.raises(ValueError, match="empty corpus"):
        WordTokenizer.train("")
    with pytest.raises(ValueError, match="min_frequency"):
        WordTokenizer.train("a b", min_frequency=0)
    with pytest.raises(ValueError, match="max_vocab_size"):
        WordTokenizer.train("a b", max_vocab_size=0)
    with pytest.raises(ValueError, match=r"\[UNK\]"):
        WordTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="duplicate"):
        WordTokenizer(["[UNK]", "a", "a"])
    with pytest.raises(ValueError, match="whitespace"):
        WordTokenizer(["[UNK]", "a b"])
    with pytest.raises(ValueError, match="tokenizer.json"):
        load_tokenizer(tmp_path)


def test_every_python_whitespace_only_separates():
    # U+0085 (NEL) occurs in real data (UCI sentiment sentences); it must not become a token.
    spaces = "".join(chr(c) for c in range(0x110000) if chr(c).isspace() and chr(c) != "\n")
    text = f"alpha{spaces}beta alpha beta"
    tok = WordTokenizer.train(text, min_frequency=1)
    assert sorted(tok.vocabulary) == sorted(["[UNK]", "alpha", "beta"])
    assert tok.decode(tok.encode(text)) == "alpha beta alpha beta"


def test_a_nul_byte_separates_words_and_drops_none():
    assert pre_tokenize(tf.constant(["a b\x00c d", "\x00y"])).to_list() == [[b"a", b"b", b"c", b"d"], [b"y"]]


@pytest.mark.parametrize("prompt, continuation", [
    ("the cat", "sat on the mat."),       # word after word: one space
    ("the cat", ", the dog."),            # punctuation glues to the prompt
    ("the cat (", "the dog)"),            # nothing after an opening bracket
    ("the cat\n", "the dog"),             # nothing after a line break
    ("the cat ", "sat"),                  # the prompt's own trailing space is kept, none added
    ("", "the cat"),                      # nothing to continue
    ("the cat", ""),                      # nothing generated
])
def test_continuation_reads_as_the_whole_text(prompt, continuation):
    tok = WordTokenizer.train("the cat sat on the mat, the dog (the dog) sat.\nthe end.", min_frequency=1)
    new_ids = tok.encode(continuation)
    completion = tok.detokenize_continuation(tf.constant([prompt]), tf.ragged.constant([new_ids], tf.int64))
    completion = completion.numpy()[0].decode("utf-8")
    whole = tok.decode(tok.encode(prompt) + new_ids)
    assert (prompt + completion).strip(" ") == whole.strip(" ")
    assert completion == "" or prompt.endswith(" ") or prompt + completion == whole


def test_continuation_in_a_graph_with_empty_rows():
    tok = WordTokenizer.train("the cat sat.", min_frequency=1)
    run = tf.function(tok.detokenize_continuation)
    new = tf.ragged.constant([tok.encode("sat"), [], tok.encode("sat")], tf.int64)
    assert [text.decode() for text in run(tf.constant(["the cat", "the cat", ""]), new).numpy()] == [" sat", "", "sat"]
