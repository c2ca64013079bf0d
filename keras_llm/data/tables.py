"""Labelled text tables (CSV or TSV with a header) for classifiers.

Parsing is strict, so a damaged file is an error naming its line instead of data:

- CSV follows RFC 4180: a field may be quoted (``"a, b"``; a quote inside is doubled, ``""``) and
  a quoted field may span lines; a quote that is never closed, or a closing quote followed by
  anything but the separator or the line end, is an error (an "unterminated quote" would
  otherwise swallow the rows after it into one text).
- TSV is not quoted: a ``"`` is text; fields are separated by tabs.
- Every row must have as many fields as the header (or as ``column_names``), and its text and
  label cells must not be empty or blank.
- A leading byte-order mark and CRLF line ends are accepted; blank lines are skipped; lines end
  at ``\\n`` only (so U+0085 and other Unicode line breaks stay inside a text).
"""

import csv
import os
import re

import numpy as np

from keras_llm.data.text import read_user_file
from keras_llm.errors import UserInputError

_INTEGER = re.compile(r"-?[0-9]+")
_SHOWN_COLUMNS = 10


def _delimiter(path, first_line):
    if path.endswith((".tsv", ".tab")):
        return "\t"
    if path.endswith(".csv"):
        return ","
    # Other extensions: a tab in the first line means TSV (commas are common inside texts).
    return "\t" if "\t" in first_line else ","


def _shown(name):
    """A header cell as one short piece of an error line (quoted if it holds line breaks or the like)."""
    name = name if len(name) <= 40 else name[:40] + "…"
    return name if name.isprintable() else repr(name)


def _is_blank(fields):
    return not fields or (len(fields) == 1 and not fields[0].strip())


def _tsv_rows(lines):
    return [(number, line.split("\t")) for number, line in enumerate(lines, start=1) if line.strip()]


def _csv_rows(path, lines):
    """``[(line number where the record starts, fields)]`` of the non-blank CSV records."""
    reader = csv.reader((line + "\n" for line in lines), strict=True)
    records = []
    limit = csv.field_size_limit()
    # The default limit (131,072 characters) would reject a long document; the whole file is a bound.
    csv.field_size_limit(max(limit, sum(len(line) + 1 for line in lines) + 1))
    try:
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return records
            except csv.Error as error:
                raise UserInputError(_csv_problem(path, start, reader.line_num, str(error))) from None
            if not _is_blank(fields):
                records.append((start, fields))
    finally:
        csv.field_size_limit(limit)


def _csv_problem(path, start, line, message):
    if "unexpected end of data" in message:
        return (f"{path} line {start}: unterminated quote (the quoted field opened there never closes; "
                f'close it, or double a quote inside a quoted field: "")')
    if "expected after" in message:
        if line > start:
            return (f"{path} line {start}: unterminated quote (the quoted field opened there runs on to line "
                    f'{line}; close it, or double a quote inside a quoted field: "")')
        return (f"{path} line {start}: stray quote (text after a closing quote); quote the whole field and "
                f'double the quotes inside it: "say ""hi"""')
    if "new-line character" in message:
        return (f"{path} line {line}: a carriage return (\\r) inside an unquoted field; "
                "quote that field or remove the carriage return")
    return f"{path} line {line}: {message}"


def read_labeled_table(path, text_column="text", label_column="label", text_pair_column=None, column_names=None):
    """Read ``(texts, labels)`` (and optional second texts) from a CSV/TSV file with a header row.

    The delimiter follows the extension (``.csv`` comma, ``.tsv`` tab) or, otherwise, is a tab
    if the first line has one, else a comma. Labels are kept as strings (``"1"``, ``"pos"``),
    stripped of surrounding whitespace; texts are kept as written. ``column_names`` reads a
    file without a header row, naming its columns. See the module docstring for the parsing rules.

    Raises:
        UserInputError: missing/empty/undecodable file (with the line number), a column that is
            not in the header (listing the columns there are), an unterminated or stray quote,
            a row whose number of fields differs from the header's, a row with an empty text
            or label (each naming the line).

    Example:
        >>> texts, labels = read_labeled_table("reviews.csv", text_column="review", label_column="stars")
    """
    path = os.fspath(path)
    text = read_user_file(path)
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise UserInputError(f"{path} is empty" + ("" if column_names else " (a header row is needed)"))
    delimiter = _delimiter(path, next(line for line in lines if line.strip()))
    rows = _tsv_rows(lines) if delimiter == "\t" else _csv_rows(path, lines)
    if column_names:
        columns = list(column_names)
        width = f"{len(columns)} column names were given"
    elif rows:
        columns = [name.strip() for name in rows.pop(0)[1]]
        width = f"the header has {len(columns)}"
    else:
        raise UserInputError(f"{path} is empty (a header row is needed)")
    wanted = [c for c in (text_column, label_column, text_pair_column) if c is not None]
    missing = [c for c in wanted if c not in columns]
    if missing:
        hint = "" if column_names or len(missing) < len(wanted) else " (the first row is read as the header row)"
        shown = ", ".join(_shown(name) for name in columns[:_SHOWN_COLUMNS])
        more = f", … ({len(columns)} in all)" if len(columns) > _SHOWN_COLUMNS else ""
        raise UserInputError(f"{path} has no column {missing[0]!r}; its columns are: {shown}{more}{hint}")
    twice = [c for c in wanted if columns.count(c) > 1]
    if twice:
        raise UserInputError(f"{path}: the column {twice[0]!r} appears {columns.count(twice[0])} times in the header")
    positions = {name: columns.index(name) for name in wanted}
    hint = " (quote a text that holds a comma)" if delimiter == "," else ""
    texts, pairs, labels = [], [], []
    for line, fields in rows:
        if len(fields) != len(columns):
            raise UserInputError(f"{path} line {line} has {len(fields)} field{'s' * (len(fields) != 1)}, "
                                 f"{width}{hint}")
        values = {name: fields[index] for name, index in positions.items()}
        for name, value in values.items():
            if not value.strip():
                raise UserInputError(f"{path} line {line}: empty {name!r}")
        texts.append(values[text_column])
        labels.append(values[label_column].strip())
        if text_pair_column:
            pairs.append(values[text_pair_column])
    if not texts:
        raise UserInputError(f"{path} has a header but no rows")
    return (texts, labels, pairs) if text_pair_column else (texts, labels)


def label_vocabulary(labels):
    """Sorted distinct labels (numerically if all are integers); needs at least two classes."""
    distinct = set(labels)
    if len(distinct) < 2:
        found = f"a single class ({next(iter(distinct))!r})" if distinct else "no labels"
        raise UserInputError(f"the label column has {found}; need at least two")
    if all(_INTEGER.fullmatch(label) for label in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def stratified_split(labels, validation_fraction=0.1, seed=0, label_names=None):
    """Indices ``(train, validation)`` with each class split in the same proportion.

    Every class keeps at least one example on each side, so each class needs two or more.

    Args:
        labels: a label (or label id) per example.
        validation_fraction: the share of each class that validates (at least one example).
        seed: the shuffle within each class.
        label_names: with label ids, their names (for the error message).

    Raises:
        UserInputError: a class has a single example (the message says what to do).

    Example:
        >>> train, valid = stratified_split(["a"] * 8 + ["b"] * 2, 0.1)   # valid: one "a", one "b"
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    single = [label for label, count in zip(classes.tolist(), counts.tolist()) if count < 2]
    if single:
        names = [label_names[label] if label_names is not None else label for label in single]
        which = (f"label {names[0]!r} has 1 example" if len(names) == 1 else
                 f"{len(names)} labels have 1 example each ({', '.join(map(repr, names[:3]))}"
                 f"{', …' if len(names) > 3 else ''})")
        raise UserInputError(f"{which}; the validation split needs at least 2 per class: add examples, "
                             "or pass a validation file (valid_file)")
    train, valid = [], []
    for label in classes.tolist():
        members = rng.permutation(np.flatnonzero(labels == label))
        count = min(max(1, int(round(len(members) * validation_fraction))), len(members) - 1)
        valid.extend(members[:count].tolist())
        train.extend(members[count:].tolist())
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(valid, dtype=np.int64))
