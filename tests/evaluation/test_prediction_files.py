"""Prediction files (text, JSONL, CSV, TSV, header-less pairs TSV): read lazily, written back with one more field."""

import csv
import io
import json

import pytest

from keras_llm.errors import UserInputError
from keras_llm.evaluation.prediction_files import RecordFile, escape_line
from keras_llm.runs.file_commands import batches


def _round_trip(path, predict, **options):
    records = RecordFile(path, **options)
    total = records.count()
    out = io.StringIO(newline="")
    writer = records.writer(out, "prediction")
    for record, text in records.records():
        writer.write(record, predict(text))
    return total, out.getvalue()


def test_text_lines_answer_line_for_line_with_line_breaks_escaped(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(b"\xef\xbb\xbfone\r\n\ntwo\\three\n")
    total, written = _round_trip(path, lambda text: f"{text}\n\t!")
    assert total == 3
    assert written.split("\n")[:-1] == ["one\\n\\t!", "\\n\\t!", "two\\\\three\\n\\t!"]
    assert escape_line("a\\nb\n") == "a\\\\nb\\n"  # a literal backslash-n stays distinguishable


def test_csv_keeps_its_columns_and_quoted_line_breaks_and_appends_one(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('id,prompt\n1,"a, b"\n\n2,"two\nlines"\n', encoding="utf-8")
    total, written = _round_trip(path, str.upper, field="prompt")
    assert total == 2
    assert list(csv.reader(io.StringIO(written))) == [["id", "prompt", "prediction"], ["1", "a, b", "A, B"],
                                                      ["2", "two\nlines", "TWO\nLINES"]]


def test_jsonl_keeps_every_key_and_tsv_pairs_keep_the_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"source": "hola", "id": 7}\n\n{"source": "adiós"}\n', encoding="utf-8")
    _, written = _round_trip(path, lambda text: text[::-1], field="source")
    assert [json.loads(line) for line in written.splitlines()] == [
        {"source": "hola", "id": 7, "prediction": "aloh"}, {"source": "adiós", "prediction": "sóida"}]
    pairs = tmp_path / "in.tsv"
    pairs.write_text('x\t"hola"\tref\n', encoding="utf-8")
    _, written = _round_trip(pairs, lambda text: "a\tb", column_index=1, tsv_header=False)
    assert written == 'x\t"hola"\tref\ta b\n'


@pytest.mark.parametrize("name, content, fragment", [
    ("in.csv", "id,text\n1,a\n", "no 'prompt' column (its columns: 'id', 'text')"),
    ("in.csv", "", "empty file"),
    ("in.txt", "", "empty file"),
    ("in.csv", 'prompt,id\n"open,1\n', "line"),
    ("in.csv", "prompt,id\na\n", "line 2: 1 fields, but the header has 2"),
    ("in.jsonl", '{"prompt": "a"}\n[1]\n', "line 2: not a JSON object"),
    ("in.jsonl", '{"text": "a"}\n', "line 1: no 'prompt' key"),
    ("in.tsv", "a\tb\nc\n", "line 2: 1 tab-separated columns"),
])
def test_bad_files_are_one_line_naming_the_problem(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserInputError, match=None) as error:
        RecordFile(path, field="prompt", column_index=1, tsv_header=False).count()
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_bad_utf8_names_its_line_and_reading_is_lazy(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(b"ok\nfine\n\xff\xfe bad\n")
    records = RecordFile(path).records()
    assert next(records)[1] == "ok"  # lines before the bad one are read without touching it
    with pytest.raises(UserInputError, match="not valid UTF-8 \\(line 3\\)"):
        list(records)
    assert [len(batch) for batch in batches(iter(range(7)), 3)] == [3, 3, 1]
