"""CoNLL / CoNLL-U reading, tag vocabularies, and word → word-piece alignment."""

import os

import pytest
import tensorflow as tf

from keras_llm.data.conll import encode_tags, is_bio_tagset, read_conll, tag_vocabulary
from keras_llm.data.token_alignment import IGNORE_LABEL, align_words, split_text_into_words
from keras_llm.errors import UserInputError
from keras_llm.tokenizers import WordPieceTokenizer

EWT = os.path.join(os.path.dirname(__file__), "..", "..", "data", "ud_english_ewt")

CONLLU = """# sent_id = 1
# text = I can't go.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2-3\tcan't\t_\t_\t_\t_\t_\t_\t_\t_
2\tca\tcan\tAUX\tMD\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t_\t_
4\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

"""


def write(tmp_path, text, name="x.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_two_column_file_with_docstart_and_blank_runs(tmp_path):
    path = write(tmp_path, "-DOCSTART-\tO\n\nJohn\tB-PER\nlives\tO\n\n\n\nin Paris\n.\tO")
    sentences = read_conll(path)
    assert [s.words for s in sentences] == [["John", "lives"], ["in", "."]]
    assert [s.tags for s in sentences] == [["B-PER", "O"], ["Paris", "O"]]
    assert tag_vocabulary(sentences) == ["B-PER", "O", "Paris"]


def test_conllu_skips_comments_ranges_and_empty_nodes(tmp_path):
    path = write(tmp_path, CONLLU, "x.conllu")
    (sentence,) = read_conll(path)
    assert sentence.words == ["I", "ca", "n't", "go", "."]
    assert sentence.tags == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert read_conll(path, tag_column="xpos")[0].tags == ["PRP", "MD", "RB", "VB", "."]
    assert read_conll(path, tag_column=8)[0].tags[0] == "nsubj"


def test_bundled_ewt_files_agree():
    conllu = read_conll(os.path.join(EWT, "en_ewt-ud-dev.conllu"))
    tsv = read_conll(os.path.join(EWT, "dev.tsv"))
    assert len(tsv) == 2001 and sum(len(s.words) for s in tsv) == 25147
    assert [s.words for s in conllu] == [s.words for s in tsv] and [s.tags for s in conllu] == [s.tags for s in tsv]
    assert len(tag_vocabulary(tsv)) == 17 and not is_bio_tagset(tag_vocabulary(tsv))


@pytest.mark.parametrize("text, fmt, message", [
    ("a\tB\tC\n", None, "x.tsv:1: expected 2 columns"),
    ("a\tO\nlonely\n", None, "x.tsv:2: expected 2 columns"),
    ("1\ta\tb\n", "conllu", "x.tsv:1: expected 10"),
    ("\n\n", None, "holds no tagged sentences"),
    ("a\t \n", None, "x.tsv:1: empty token or tag"),
    ("w\tO\n" * 1001, None, "x.tsv:1: sentence of over 1000 words; are the blank lines"),
])
def test_bad_files_raise_one_line_errors(tmp_path, text, fmt, message):
    with pytest.raises(UserInputError, match=message) as error:
        read_conll(write(tmp_path, text), fmt=fmt)
    assert "\n" not in str(error.value)


def test_bad_options(tmp_path):
    path = write(tmp_path, "a\tO\n")
    with pytest.raises(UserInputError, match="unknown format"):
        read_conll(path, fmt="xml")
    with pytest.raises(UserInputError, match="applies to CoNLL-U"):
        read_conll(path, tag_column="upos")
    with pytest.raises(UserInputError, match="tag column"):
        read_conll(write(tmp_path, CONLLU, "y.conllu"), tag_column="color")
    with pytest.raises(UserInputError, match="not found"):
        read_conll(str(tmp_path / "missing.tsv"))


def test_unseen_tags_get_minus_one_and_are_counted(tmp_path):
    train = read_conll(write(tmp_path, "a\tB-PER\nb\tO\n"))
    valid = read_conll(write(tmp_path, "a\tB-LOC\nb\tO\nc\tB-LOC\n", "v.tsv"))
    ids, unknown = encode_tags(valid, tag_vocabulary(train))
    assert ids == [[-1, 1, -1]] and unknown == {"B-LOC": 2}
    assert is_bio_tagset(["B-PER", "I-PER", "O"]) and not is_bio_tagset(["O"])


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##bel", "##ievable", "!",
                               "the", "cat", "[", "]", "sep"])


def test_only_first_pieces_carry_labels(tokenizer):
    words = tf.ragged.constant([["Unbelievable", "!", "the"], ["[SEP]", "\x01", "cat"]])
    tags = tf.ragged.constant([[3, 1, -1], [0, 2, 4]], dtype=tf.int32)
    out = align_words(tokenizer, words, 8, tags)
    assert out["token_ids"].numpy().tolist() == [[2, 5, 6, 7, 8, 9, 3, 0], [2, 11, 13, 12, 1, 10, 3, 0]]
    assert out["padding_mask"].numpy().tolist() == [[1] * 7 + [0], [1] * 7 + [0]]
    # Row 0: "the" has an unseen tag (-1), so it is ignored like the non-first pieces.
    # Row 1: the literal "[SEP]" is text (three pieces); the control character is one [UNK].
    n = IGNORE_LABEL
    assert out["labels"].numpy().tolist() == [[n, 3, n, n, 1, n, n, n], [n, 0, n, n, 2, 4, n, n]]
    assert out["first_piece"].to_list() == [[1, 4, 5], [1, 4, 5]]


def test_truncation_drops_words_that_do_not_fit(tokenizer):
    out = align_words(tokenizer, tf.ragged.constant([["the", "Unbelievable", "cat"]]), 5,
                      tf.ragged.constant([[1, 2, 3]], dtype=tf.int32))
    assert out["token_ids"].numpy().tolist() == [[2, 9, 5, 6, 3]]
    assert out["word_mask"].to_list() == [[1, 1, 0]]
    assert out["labels"].numpy().tolist() == [[IGNORE_LABEL, 1, 2, IGNORE_LABEL, IGNORE_LABEL]]


def test_serving_word_split():
    words = split_text_into_words(tf.constant(["Hi, you!", "", "  \t ", b"caf\xe9 x", "a.b"]))
    assert words.to_list() == [[b"Hi", b",", b"you", b"!"], [], [], ["caf\ufffd".encode(), b"x"],
                               [b"a", b".", b"b"]]
    assert split_text_into_words(tf.constant(["a b c"]), max_words=2).to_list() == [[b"a", b"b"]]


def test_serving_word_split_keeps_the_words_after_a_nul():
    # tf-text's regex_split stops reading at a NUL; it used to drop every word after one
    words = split_text_into_words(tf.constant(["Mary\x00lives in\x00\x00Berlin", "\x00", "a\x00", "\x00b ,c"]))
    assert words.to_list() == [[b"Mary", b"lives", b"in", b"Berlin"], [], [b"a"], [b"b", b",", b"c"]]


def test_invalid_utf8_names_the_line_and_crlf_is_read(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_bytes(b"a\tO\n\ncaf\xe9\tO\n")
    with pytest.raises(UserInputError, match=r"not valid UTF-8 \(line 3"):
        read_conll(str(path))
    path.write_bytes(b"\xef\xbb\xbfa\tO\r\nb\tX\r\n\r\nc\tO\r\n")
    assert [(s.words, s.tags) for s in read_conll(str(path))] == [(["a", "b"], ["O", "X"]), (["c"], ["O"])]
