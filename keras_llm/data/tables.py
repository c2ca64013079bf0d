"""Labelled text tables (CSV or TSV with a header) for classifiers."""

import csv
import os

import numpy as np

from keras_llm.errors import UserInputError


def _delimiter(path, first_line):
    if path.endswith((".tsv", ".tab")):
        return "\t"
    if path.endswith(".csv"):
        return ","
    return "\t" if first_line.count("\t") >= first_line.count(",") else ","


def read_labeled_table(path, text_column="text", label_column="label", text_pair_column=None):
    """Read ``(texts, labels)`` (and optional second texts) from a CSV/TSV file with a header row.

    The delimiter follows the extension (``.csv`` comma, ``.tsv`` tab) or, otherwise, whichever
    of tab and comma the header has more of. Labels are kept as strings (``"1"``, ``"pos"``).

    Raises:
        UserInputError: missing/empty/undecodable file (with the line number), a column that is
            not in the header (listing the columns there are), a row with an empty text or label.

    Example:
        >>> texts, labels = read_labeled_table("reviews.csv", text_column="review", label_column="stars")
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise UserInputError(f"expected a file but got a directory: {path}")
    if not os.path.isfile(path):
        raise UserInputError(f"file not found: {path}")
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise UserInputError(f"{path} is not valid UTF-8 (line {line}); re-encode it as UTF-8") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise UserInputError(f"{path} is empty (a header row is needed)")
    reader = csv.DictReader(lines, delimiter=_delimiter(path, lines[0]))
    columns = reader.fieldnames or []
    wanted = [c for c in (text_column, label_column, text_pair_column) if c is not None]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise UserInputError(f"{path} has no column {missing[0]!r}; its columns are: {', '.join(columns)}")
    texts, pairs, labels = [], [], []
    for row_number, row in enumerate(reader, start=2):
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
