"""Fuzzing the user-file readers: tables (CSV/TSV), CoNLL / CoNLL-U and sentence pairs.

Each reader, given any file, either returns sane data (non-empty ``str`` texts, labels, words and
tags, counts that add up) or raises :class:`~keras_llm.errors.UserInputError` with a one-line
message; never another exception. Files are generated with random quoting, separators, empty
cells, stray quotes, CR/LF/CRLF mixes, byte-order marks, invalid UTF-8 bytes and very long lines.
Well-formed files must also read back exactly what was written (round trips).

The default run draws a few hundred files in all; the same properties run with ten times as
many under ``-m slow``. A last test feeds bad tables to the console script (one line, exit 2).
"""

import csv
import io
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from keras_llm.data.conll import MAX_SENTENCE_WORDS, read_conll
from keras_llm.data.pairs import read_pairs
from keras_llm.data.tables import read_labeled_table
from keras_llm.errors import UserInputError

FAST, SLOW = 60, 600  # examples per property: default run / -m slow
BOM = b"\xef\xbb\xbf"
INVALID_BYTES = [b"\xff", b"\xfe", b"\xc0", b"\x80", b"\xe9"]  # inserted into valid UTF-8: never valid

# Characters that stress parsers, mixed with arbitrary ones.
AWKWARD = list(',;"\'\t\r\n \x00\\|#-.') + ["\ufeff", "\x85", "\u2028", "\u00a0", "\x1c", "é", "中", "😀"]
awkward_char = st.one_of(st.sampled_from(AWKWARD), st.characters(codec="utf-8"))
cell = st.text(awkward_char, max_size=10)
# No whitespace or control characters: safe inside any separator scheme.
plain_char = st.characters(codec="utf-8", exclude_categories=("Z", "C"))
word = st.text(plain_char, min_size=1, max_size=8)


def _one_line(error):
    message = str(error)
    assert message and "\n" not in message and "\r" not in message, repr(message)


def _read(reader, path, *args, **kwargs):
    """``reader(path)``, or None after a UserInputError with a one-line message."""
    try:
        result = reader(str(path), *args, **kwargs)
    except UserInputError as error:
        _one_line(error)
        event("UserInputError")  # pytest --hypothesis-show-statistics shows how often each outcome came
        return None
    event("read")
    return result


def _nonblank(text):
    return isinstance(text, str) and text.strip() != ""


def _lines(data):
    return data.count(b"\n") + data.count(b"\r") + 1


@st.composite
def messy_bytes(draw, lines, faulty=True):
    """``lines`` (list of str) joined with line ends, maybe a BOM, blank lines and a very long line;
    when ``faulty``, maybe also mixed line ends with lone CRs and an invalid UTF-8 byte.

    Returns ``(data, has_invalid_utf8)``.
    """
    lines = list(lines)
    if len(lines) > 1 and draw(st.integers(0, 9)) == 0:  # a 140,000-character word (csv's field limit: 131,072)
        index = draw(st.integers(1, len(lines) - 1))  # not the first line: it may be a header
        lines[index] = "x" * 140_000 + lines[index]
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):  # blank lines
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", " ", "\t"])))
    ends = [draw(st.sampled_from(["\n", "\r\n"]))] * len(lines)
    if faulty and draw(st.integers(0, 5)) == 0:
        ends = draw(st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=len(lines), max_size=len(lines)))
    data = "".join(line + end for line, end in zip(lines, ends))
    if draw(st.booleans()):
        data = data.rstrip("\r\n")  # no final line end
    data = data.encode("utf-8")
    if draw(st.integers(0, 3)) == 0:
        data = BOM + data
    invalid = faulty and draw(st.integers(0, 5)) == 0
    if invalid:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(INVALID_BYTES)) + data[at:]
    return data, invalid


# ---------------------------------------------------------------------------------------- tables

def _quote(value, how, delimiter):
    if how == "minimal" and any(c in value for c in f'"\n\r{delimiter}'):
        how = "full"
    if how == "full":
        return '"' + value.replace('"', '""') + '"'
    if how == "undoubled":  # quotes inside not doubled
        return f'"{value}"'
    if how == "open":  # an unterminated quote
        return f'"{value}'
    return value


@st.composite
def messy_table(draw):
    """About half the files are well-formed (awkward texts, quoted as they must be); the others get
    one or two faults: a wrong or duplicated header, a row with a field too many or too few, an
    unterminated or undoubled quote, an empty cell, a lone CR, an invalid UTF-8 byte."""
    faulty = draw(st.booleans())
    extension = draw(st.sampled_from([".csv", ".tsv", ".txt"]))
    delimiter = {".csv": ",", ".tsv": "\t"}.get(extension) or draw(st.sampled_from([",", "\t"]))
    if faulty and draw(st.integers(0, 3)) == 0:
        delimiter = draw(st.sampled_from([",", "\t", ";"]))
    header = ["text", "label"]
    if faulty and draw(st.integers(0, 3)) == 0:
        header = draw(st.sampled_from([["label", "text", "note"], ["text"], ["review", "label"],
                                       ["text", "text", "label"], [" text ", "label"], ["text", "label", ""]]))
    text = st.one_of(word, st.text(awkward_char, min_size=1, max_size=12)).filter(_nonblank)
    rows = [header] + draw(st.lists(st.lists(st.one_of(text, st.sampled_from(["pos", "neg", " 1 "])),
                                             min_size=len(header), max_size=len(header)),
                                    min_size=0 if faulty else 1, max_size=8))
    if delimiter == "\t":  # TSV has no quoting: texts with tabs or line breaks would be faults
        rows = [[value.translate({9: " ", 10: " ", 13: " "}) for value in row] for row in rows]
    quoting = ["minimal"] * len(rows)
    if faulty and len(rows) > 1:
        for _ in range(draw(st.integers(1, 2))):
            row = draw(st.integers(1, len(rows) - 1))
            fault = draw(st.sampled_from(["wider", "narrower", "empty", "open", "undoubled", "none", "cr"]))
            if fault in ("open", "undoubled", "none"):
                quoting[row] = fault
            elif fault == "wider":
                rows[row] = rows[row] + [draw(cell)]
            elif fault == "narrower":
                rows[row] = rows[row][:-1]
            elif fault == "empty" and rows[row]:
                rows[row][draw(st.integers(0, len(rows[row]) - 1))] = draw(st.sampled_from(["", " ", "\t"]))
            elif fault == "cr" and rows[row]:
                rows[row][0] = rows[row][0] + "\r" + rows[row][0]
    lines = [delimiter.join(_quote(value, how, delimiter) for value in row) for row, how in zip(rows, quoting)]
    data, invalid = draw(messy_bytes(lines, faulty))
    return data, extension, invalid


def _check_table(result, data, invalid):
    if result is None:
        return
    assert not invalid, "invalid UTF-8 was read as text"
    texts, labels = result
    assert 1 <= len(texts) == len(labels) <= _lines(data) - 1
    assert all(_nonblank(text) for text in texts)
    assert all(_nonblank(label) and label == label.strip() for label in labels)


def _table_never_crashes(folder, table):
    data, extension, invalid = table
    path = folder / f"table{extension}"
    path.write_bytes(data)
    _check_table(_read(read_labeled_table, path), data, invalid)


@st.composite
def good_table(draw):
    tsv = draw(st.booleans())
    banned = "\r" + ("\t\n" if tsv else "")  # CRLF inside a quoted field reads as LF
    text = st.text(st.one_of(st.sampled_from(AWKWARD), st.characters(codec="utf-8")).filter(
        lambda c: c not in banned), min_size=1, max_size=12).filter(_nonblank)
    label = st.text(st.sampled_from(list("ab1-é,\"' ")), min_size=1, max_size=4).filter(
        lambda s: s == s.strip() and (not tsv or "\t" not in s))
    rows = draw(st.lists(st.tuples(text, label), min_size=1, max_size=8))
    if tsv:
        lines = "".join(f"{t}\t{y}\n" for t, y in [("text", "label"), *rows])
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
                            quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
        writer.writerows([("text", "label"), *rows])
        lines = buffer.getvalue()
    data = (BOM if draw(st.booleans()) else b"") + lines.encode("utf-8")
    return data, ".tsv" if tsv else ".csv", rows


def _table_round_trip(folder, table):
    data, extension, rows = table
    path = folder / f"good{extension}"
    path.write_bytes(data)
    assert read_labeled_table(str(path)) == ([t for t, _ in rows], [y for _, y in rows])


# ---------------------------------------------------------------------------------------- CoNLL

@st.composite
def messy_conll(draw):
    """Half well-formed (comments, multiword ranges, empty nodes, -DOCSTART-, runs of blank lines),
    half with faults: wrong column counts, empty or awkward cells, a run-on "sentence" of over
    MAX_SENTENCE_WORDS words, mixed line ends, an invalid UTF-8 byte."""
    faulty, conllu = draw(st.booleans()), draw(st.booleans())
    form = st.one_of(word, cell) if faulty else word
    tags = st.sampled_from(["O", "B-PER", "NOUN"])
    tag = st.one_of(tags, cell) if faulty else tags
    lines = []
    for _ in range(draw(st.integers(0 if faulty else 1, 5))):
        for index in range(1, draw(st.integers(1, 6)) + 1):
            if conllu:
                columns = [str(index), draw(form), "_", draw(tag), "_", "_", "0", "root", "_", "_"]
                if faulty and draw(st.integers(0, 5)) == 0:
                    columns = columns[:draw(st.sampled_from([9, 11]))]
                lines.append("\t".join(columns))
            else:
                columns = [draw(form), draw(tag)] + ([draw(cell)] if faulty and draw(st.integers(0, 5)) == 0 else [])
                lines.append(draw(st.sampled_from(["\t", " ", "  "])).join(columns))
            if draw(st.integers(0, 9)) == 0:
                lines.append(draw(st.sampled_from(["-DOCSTART- -X- O O"] if not conllu else [
                    "# sent_id = 1", "1-2\tdon't" + "\t_" * 8, "1.1\tgone" + "\t_" * 8, "#"])))
        lines += [""] * draw(st.integers(0 if faulty else 1, 2))
    if faulty and draw(st.integers(0, 9)) == 0:
        lines += ["a\tO"] * (MAX_SENTENCE_WORDS + 1)  # no blank lines between "sentences"
    data, invalid = draw(messy_bytes(lines, faulty))
    return data, ".conllu" if conllu else ".conll", invalid


def _check_conll(result, data, invalid):
    if result is None:
        return
    assert not invalid, "invalid UTF-8 was read as text"
    assert result
    assert sum(len(s.words) for s in result) <= _lines(data)
    for sentence in result:
        assert 1 <= len(sentence.words) == len(sentence.tags) <= MAX_SENTENCE_WORDS
        assert all(_nonblank(w) for w in sentence.words)
        assert all(_nonblank(t) and t == t.strip() for t in sentence.tags)


def _conll_never_crashes(folder, conll):
    data, extension, invalid = conll
    path = folder / f"tagged{extension}"
    path.write_bytes(data)
    _check_conll(_read(read_conll, path), data, invalid)


@st.composite
def good_conll(draw):
    conllu = draw(st.booleans())
    sentences = draw(st.lists(st.lists(st.tuples(word.filter(lambda w: w != "-DOCSTART-"), word),
                                       min_size=1, max_size=6), min_size=1, max_size=5))
    blocks = []
    for sentence in sentences:
        if conllu:
            rows = ["# text = x"] + [f"{i}\t{w}\t_\t{t}\t_\t_\t0\troot\t_\t_" for i, (w, t) in enumerate(sentence, 1)]
        else:
            separator = draw(st.sampled_from(["\t", " "]))
            rows = [f"{w}{separator}{t}" for w, t in sentence]
        blocks.append("\n".join(rows))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    text = (ending * 2).join(block.replace("\n", ending) for block in blocks) + draw(st.sampled_from(["", ending]))
    data = (BOM if draw(st.booleans()) else b"") + text.encode("utf-8")
    return data, ".conllu" if conllu else ".conll", sentences


def _conll_round_trip(folder, conll):
    data, extension, sentences = conll
    path = folder / f"good{extension}"
    path.write_bytes(data)
    assert [list(zip(s.words, s.tags)) for s in read_conll(str(path))] == sentences


# ---------------------------------------------------------------------------------------- pairs

@st.composite
def messy_pairs(draw):
    faulty = draw(st.booleans())
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        if faulty and draw(st.integers(0, 2)) == 0:
            columns = draw(st.lists(st.one_of(word, cell), min_size=1, max_size=4))
            lines.append(draw(st.sampled_from(["\t", " ", "\t\t"])).join(columns))
        else:
            text = cell.map(lambda value: value.translate({9: " ", 10: " "})).filter(_nonblank)
            lines.append("\t".join(draw(st.lists(st.one_of(word, text), min_size=2, max_size=3))))
    data, invalid = draw(messy_bytes(lines, faulty))
    return data, invalid


def _pairs_never_crashes(folder, pairs):
    data, invalid = pairs
    path = folder / "pairs.tsv"
    path.write_bytes(data)
    result = _read(read_pairs, path)
    if result is None:
        return
    assert not invalid, "invalid UTF-8 was read as text"
    sources, targets = result
    assert 2 <= len(sources) == len(targets) <= _lines(data)
    for text in sources + targets:
        assert _nonblank(text) and text == text.strip() and "\t" not in text and "\n" not in text


def _pairs_round_trip(folder, pairs):
    rows, ending, bom = pairs
    path = folder / "good_pairs.tsv"
    path.write_bytes((BOM if bom else b"") + "".join(f"{s}\t{t}{ending}" for s, t in rows).encode("utf-8"))
    assert read_pairs(str(path)) == ([s for s, _ in rows], [t for _, t in rows])


good_pairs = st.tuples(st.lists(st.tuples(word, word), min_size=2, max_size=8), st.sampled_from(["\n", "\r\n"]),
                       st.booleans())


# ---------------------------------------------------------------------------------------- the tests

PROPERTIES = {
    "table_never_crashes": (_table_never_crashes, messy_table()),
    "table_round_trip": (_table_round_trip, good_table()),
    "conll_never_crashes": (_conll_never_crashes, messy_conll()),
    "conll_round_trip": (_conll_round_trip, good_conll()),
    "pairs_never_crashes": (_pairs_never_crashes, messy_pairs()),
    "pairs_round_trip": (_pairs_round_trip, good_pairs),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _run(name, examples, folder):
    check, strategy = PROPERTIES[name]
    test = settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])(
        given(strategy)(lambda value: check(folder, value)))
    test()


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_readers(name, folder):
    _run(name, FAST, folder)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_readers_slow(name, folder):
    _run(name, SLOW, folder)


BAD_TABLES = {  # issue 16, items 9 and 8: each used to train (a bogus class) or crash after an epoch
    "unterminated.csv": (b'text,label\ngood,a\n"great movie,b\nawful,a\nbad,b\n', "line 3: unterminated quote"),
    "once.csv": (b"text,label\ngood,a\nbad,b\nok,c\n", "1 example each"),
}


def test_console_script_says_one_line_for_bad_tables(tmp_path):
    script = os.path.join(os.path.dirname(sys.executable), "keras-llm")
    for name, (content, message) in BAD_TABLES.items():
        (tmp_path / name).write_bytes(content)
        completed = subprocess.run([script, "train", "bert-classifier", "--train", str(tmp_path / name),
                                    "--run-dir", str(tmp_path / "run"), "--epochs", "1"],
                                   capture_output=True, text=True, timeout=120)
        assert completed.returncode == 2, completed.stderr
        assert completed.stderr.count("\n") == 1 and message in completed.stderr, completed.stderr
