"""Labelled text tables (CSV or TSV with a header) for classifiers."""

import csv
import os

import numpy as np

from keras_llm.data.text import read_user_file
from keras_llm.errors import UserInputError


def _delimiter(path, first_line):
    if path.endswith((".tsv", ".tab")):
        return "\t"
    if path.endswith(".csv"):
        return ","
    # Other extensions: a tab in the first line means TSV (commas are common inside texts).
    return "\t" if "\t" in first_line else ","


def read_labeled_table(path, text_column="text", label_column="label", text_pair_column=None, column_names=None):
    """Read ``(texts, labels)`` (and optional second texts) from a CSV/TSV file with a header row.

    The delimiter follows the extension (``.csv`` comma, ``.tsv`` tab) or, otherwise, is a tab
    if the first line has one, else a comma. Labels are kept as strings (``"1"``, ``"pos"``).
    Lines end at ``\n`` only (so U+0085 and other Unicode line breaks stay inside a text).
    ``column_names`` reads a file without a header row, naming its columns.

    Raises:
        UserInputError: missing/empty/undecodable file (with the line number), a column that is
            not in the header (listing the columns there are), a row with an empty text or label.

    Example:
        >>> texts, labels = read_labeled_table("reviews.csv", text_column="review", label_column="stars")
    """
    path = os.fspath(path)
    text = read_user_file(path)
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines or not lines[0].strip():
        raise UserInputError(f"{path} is empty" + ("" if column_names else " (a header row is needed)"))
    delimiter = _delimiter(path, lines[0])
    # TSV files are not quoted (a '"' is text); CSV follows RFC 4180 quoting.
    reader = csv.DictReader(lines, delimiter=delimiter, fieldnames=column_names,
                            quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL)
    columns = reader.fieldnames or []
    wanted = [c for c in (text_column, label_column, text_pair_column) if c is not None]
    missing = [c for c in wanted if c not in columns]
    if missing:
        hint = "" if column_names or len(missing) < len(wanted) else " (the first row is read as the header row)"
        raise UserInputError(f"{path} has no column {missing[0]!r}; its columns are: {', '.join(columns)}{hint}")
    texts, pairs, labels = [], [], []
    for row_number, row in enumerate(reader, start=1 if column_names else 2):
        text_value, label_value = (row.get(text_column) or ""), (row.get(label_column) or "").strip()
        if not label_value:
            raise UserInputError(f"{path} line {row_number}: empty {label_column!r}")
        texts.append(text_value)
        labels.append(label_value)
        if text_pair_column:
            pairs.append(row.get(text_pair_column) or "")
    if not texts:
        raise UserInputError(f"{path} has a header but no rows")
    return (texts, labels, pairs) if text_pair_column else (texts, labels)


def label_vocabulary(labels):
    """Sorted distinct labels (numerically if all are integers); needs at least two classes."""
    distinct = set(labels)
    if len(distinct) < 2:
        raise UserInputError(f"the label column has a single class ({next(iter(distinct))!r}); need at least two")
    if all(label.lstrip("-").isdigit() for label in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def stratified_split(labels, validation_fraction=0.1, seed=0):
    """Indices ``(train, validation)`` with each class split in the same proportion."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    train, valid = [], []
    for label in sorted(set(labels.tolist())):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = max(1, int(round(len(members) * validation_fraction))) if len(members) > 1 else 0
        valid.extend(members[:count].tolist())
        train.extend(members[count:].tolist())
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(valid, dtype=np.int64))
