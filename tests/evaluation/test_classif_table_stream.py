"""Streaming CSV/TSV/JSONL rows for `keras-llm predict`: parsing rules, laziness, writing back, bad files."""

import io
import json

import pytest

from keras_llm.data.table_stream import TableReader, TableWriter
from keras_llm.errors import UserInputError


def _round_trip(path, new_values):
    reader = TableReader(str(path))
    out = io.StringIO(newline="")
    writer = TableWriter(out, reader, ["predicted_label", "score"])
    rows = list(reader.rows())
    for (_, row), values in zip(rows, new_values):
        writer.write(row, values)
    return reader, rows, out.getvalue()


def test_csv_quoting_bom_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes('\ufeffid,text\r\n1,"a, b"\r\n\r\n2,"two\nlines ""q"""\r\n'.encode("utf-8"))
    reader, rows, written = _round_trip(path, [["pos", 0.25], ["neg", [0.5, 1.0]]])
    assert reader.format == "csv" and reader.columns == ["id", "text"]
    assert [(line, reader.text(row, "text", line)) for line, row in rows] == [(2, "a, b"), (4, 'two\nlines "q"')]
    assert written == ('id,text,predicted_label,score\n1,"a, b",pos,0.250000\n'
                       '2,"two\nlines ""q""",neg,0.500000 1.000000\n')


def test_tsv_and_jsonl_keep_their_format(tmp_path):
    tsv = tmp_path / "in.tsv"
    tsv.write_text('text\tn\nsay "hi"\t1\n', encoding="utf-8")
    assert _round_trip(tsv, [["pos", 0.5]])[2] == 'text\tn\tpredicted_label\tscore\nsay "hi"\t1\tpos\t0.500000\n'
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "é", "id": 3}\n\n{"text": "b"}\n', encoding="utf-8")
    written = _round_trip(jsonl, [["pos", 0.1234567], ["neg", [0.5]]])[2].splitlines()
    assert [json.loads(line) for line in written] == [
        {"text": "é", "id": 3, "predicted_label": "pos", "score": 0.123457},
        {"text": "b", "predicted_label": "neg", "score": [0.5]}]


def test_rows_are_read_lazily_and_counted_in_a_pass_that_finds_bad_rows(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"text\n" + b"a line of text\n" * 100_000 + b"bad \xff byte\n")
    reader = TableReader(str(path))
    rows = reader.rows()
    assert next(rows) == (2, ["a line of text"])  # yielded before the bad byte at the end is read
    with pytest.raises(UserInputError, match="line 100002"):
        reader.count()
    path.write_bytes(b"text\n" + b"a line of text\n" * 1000)
    assert TableReader(str(path)).count() == 1000


@pytest.mark.parametrize("name, content, message", [
    ("e.csv", b"", "is empty"),
    ("e.csv", b"\n \n", "is empty"),
    ("l.csv", b"text\nok\ncaf\xe9\n", "not valid UTF-8 (line 3)"),
    ("q.csv", b'text\n"never closed\nx\n', "line 2: unterminated quote"),
    ("f.csv", b"a,b\n1\n", "line 2 has 1 field, the header has 2"),
    ("j.jsonl", b'{"text": "a"}\n[1]\n', "line 2: expected a JSON object"),
    ("j.jsonl", b'{"text": "a"}\n{bad\n', "line 2: not valid JSON"),
])
def test_bad_files_name_the_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(TableReader(str(path)).rows())


def test_missing_column_names_the_columns_and_new_columns_may_not_clash(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("review,predicted_label\nx,y\n", encoding="utf-8")
    reader = TableReader(str(path))
    with pytest.raises(UserInputError, match="has no column 'text'; its columns are: review, predicted_label"):
        reader.require_column("text")
    with pytest.raises(UserInputError, match="already has a column 'predicted_label'"):
        TableWriter(io.StringIO(), reader, ["predicted_label"])
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "a"}\n{"body": "b"}\n{"text": 3}\n', encoding="utf-8")
    reader = TableReader(str(jsonl))
    rows = list(reader.rows())
    with pytest.raises(UserInputError, match="line 2: no key 'text'"):
        reader.text(rows[1][1], "text", rows[1][0])
    with pytest.raises(UserInputError, match="line 3: 'text' is int, not text"):
        reader.text(rows[2][1], "text", rows[2][0])
