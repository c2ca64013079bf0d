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
