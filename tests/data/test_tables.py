"""CSV/TSV readers for classifiers: columns, labels, clear errors, stratified splits."""

import numpy as np
import pytest

from keras_llm.data import label_vocabulary, read_labeled_table, stratified_split
from keras_llm.errors import UserInputError


def test_csv_with_quotes_and_tsv(tmp_path):
    csv_path = tmp_path / "a.csv"
    csv_path.write_text('review,stars\n"Good, really good",5\nBad,1\n', encoding="utf-8")
    assert read_labeled_table(csv_path, "review", "stars") == (["Good, really good", "Bad"], ["5", "1"])
    tsv_path = tmp_path / "b.tsv"
    tsv_path.write_text("sentence\tlabel\tsecond\nhello\tpos\tthere\nbye\tneg\tnow\n", encoding="utf-8")
    texts, labels, pairs = read_labeled_table(tsv_path, "sentence", "label", text_pair_column="second")
    assert (texts, labels, pairs) == (["hello", "bye"], ["pos", "neg"], ["there", "now"])


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"text,label\n", "no rows"),
    (b"text,stars\nhi,1\n", "columns are: text, stars"),
    (b"text,label\nok,1\ncaf\xe9,0\n", "line 3"),
    (b"text,label\nfine,\n", "line 2"),
])
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(UserInputError, match=message):
        read_labeled_table(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        read_labeled_table(tmp_path / "nope.csv")
    with pytest.raises(UserInputError, match="directory"):
        read_labeled_table(tmp_path)


def test_label_vocabulary():
    assert label_vocabulary(["10", "2", "1", "2"]) == ["1", "2", "10"]
    assert label_vocabulary(["pos", "neg"]) == ["neg", "pos"]
    with pytest.raises(UserInputError, match="single class"):
        label_vocabulary(["1", "1"])


def test_stratified_split_keeps_proportions():
    labels = ["a"] * 80 + ["b"] * 20
    train, valid = stratified_split(labels, 0.1, seed=3)
    assert len(valid) == 10 and len(train) == 90 and not set(train) & set(valid)
    assert sum(labels[i] == "b" for i in valid) == 2
    again_train, again_valid = stratified_split(labels, 0.1, seed=3)
    np.testing.assert_array_equal(again_valid, valid)


def test_headerless_tsv_with_quotes_and_unicode_line_breaks(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text('A "quoted", odd\x85line, really\t1\nPlain one\t0\n', encoding="utf-8")
    texts, labels = read_labeled_table(path, "sentence", "label", column_names=["sentence", "label"])
    assert texts == ['A "quoted", odd\x85line, really', "Plain one"] and labels == ["1", "0"]


def test_file_without_a_header_row_says_so(tmp_path):
    path = tmp_path / "headerless.csv"
    path.write_text("a great film,pos\nan awful mess,neg\n", encoding="utf-8")
    with pytest.raises(UserInputError, match=r"no column 'text'; its columns are: a great film, pos "
                                             r"\(the first row is read as the header row\)"):
        read_labeled_table(str(path))


@pytest.mark.parametrize("content, message", [
    # an unterminated quote used to swallow the rows after it into one text (and a bogus class)
    (b'text,label\ngood,pos\n"great movie,pos\nawful,neg\nbad,neg\n', r"bad\.csv line 3: unterminated quote"),
    (b'text,label\n"great movie,pos\nawful,neg\nworse "really",neg\n', "line 2: unterminated quote .*line 4"),
    (b'text,label\n"he said "hi"",pos\nbad,neg\n', "line 2: stray quote"),
    (b"text,label\ngood,pos\nbad,neg,extra\n", r"line 3 has 3 fields, the header has 2 \(quote a text"),
    (b"text,label\ngood,pos\nbad\n", "line 3 has 1 field, the header has 2"),
    (b"text,label\n,pos\nbad,neg\n", "line 2: empty 'text'"),
    (b"text,label\n   ,pos\nbad,neg\n", "line 2: empty 'text'"),
    (b"text,label\ngood,pos\nbad, \n", "line 3: empty 'label'"),
    (b"text,label\ngo\rod,pos\n", r"line 2: a carriage return \(\\r\) inside an unquoted field"),
    (b"text,text,label\na,b,pos\n", "'text' appears 2 times"),
    (b'""\n', "empty"),
])
def test_strict_csv_errors_name_the_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(UserInputError, match=message):
        read_labeled_table(path)


def test_tsv_field_counts_and_empty_cells(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_bytes(b'text\tlabel\n"quoted\tpos\nb\tneg\tx\n')
    with pytest.raises(UserInputError, match=r"bad\.tsv line 3 has 3 fields, the header has 2$"):
        read_labeled_table(path)
    path.write_bytes(b"text\tlabel\n\tpos\n")
    with pytest.raises(UserInputError, match="line 2: empty 'text'"):
        read_labeled_table(path)
    path.write_bytes(b"a\tpos\tx\n")
    with pytest.raises(UserInputError, match="line 1 has 3 fields, 2 column names were given"):
        read_labeled_table(path, column_names=["text", "label"])


def test_bom_crlf_blank_lines_multiline_quotes_and_long_fields(tmp_path):
    path = tmp_path / "ok.csv"
    long_text = "word " * 40000  # 200,000 characters: over the csv module's default field limit
    path.write_bytes(b"\xef\xbb\xbf\r\n text , label\r\n\"a\r\nb, \"\"c\"\"\",pos\r\n\r\nd,neg\r\n"
                     + f'"{long_text}",neg\n  \n'.encode())
    texts, labels = read_labeled_table(path)
    assert texts == ['a\nb, "c"', "d", long_text] and labels == ["pos", "neg", "neg"]
    tsv = tmp_path / "ok.tsv"
    tsv.write_bytes(b'\xef\xbb\xbftext\tlabel\r\nsay "hi\tpos\r\n\r\nx\tneg\r\n')
    assert read_labeled_table(tsv) == (['say "hi', "x"], ["pos", "neg"])


def test_stratified_split_needs_two_examples_per_class():
    with pytest.raises(UserInputError, match=r"^label 'c' has 1 example; the validation split needs at least 2 per "
                                             r"class: add examples, or pass a validation file \(valid_file\)$"):
        stratified_split(["a", "a", "b", "b", "c"])
    with pytest.raises(UserInputError, match=r"^3 labels have 1 example each \('neg', 'pos', 'x'\)"):
        stratified_split([0, 1, 2], label_names=["neg", "pos", "x"])
    train, valid = stratified_split(["a", "a", "b", "b", "b"], 0.9)  # each class keeps one training example
    assert len(train) == 2 and len(valid) == 3


def test_label_vocabulary_with_non_ascii_digits():
    assert label_vocabulary(["²", "1"]) == ["1", "²"]  # str.isdigit() is true for "²", int() is not
