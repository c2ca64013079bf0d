"""CSV, TSV and JSON Lines files read one row at a time (for `keras-llm predict`), and written back.

A file to label may be larger than memory, so it is never read whole: :class:`TableReader`
decodes it as it goes and yields one row at a time, and :class:`TableWriter` writes each row
back with new columns appended. The parsing rules are the training reader's
(:mod:`keras_llm.data.tables`): CSV is RFC 4180 (strict quoting), TSV is unquoted, a byte-order
mark and CRLF line ends are accepted, blank lines are skipped, every CSV/TSV row must have as
many fields as the header. JSON Lines holds one JSON object per line.

The format comes from the extension (``.csv``; ``.tsv``/``.tab``; ``.jsonl``/``.ndjson``/``.json``)
or, for other names, from the first line (``{`` → JSONL, a tab → TSV, else CSV).

Example:
    >>> reader = TableReader("reviews.csv")
    >>> reader.require_column("review")
    >>> for line, row in reader.rows():
    ...     text = reader.text(row, "review", line)
"""

import csv
import json
import os

from keras_llm.data.tables import _csv_problem
from keras_llm.errors import UserInputError

TABLE_FORMATS = ("csv", "tsv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_SHOWN_COLUMNS = 10


def table_format_of(path):
    """``"csv"``, ``"tsv"`` or ``"jsonl"`` from the file name, or None when the extension says nothing."""
    return _EXTENSIONS.get(os.path.splitext(os.fspath(path))[1].lower())


def first_line(path):
    """The first non-blank line of ``path`` (BOM and line end removed; "" for an empty file), read lazily."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="\n") as handle:
        for line in handle:
            if line.strip():
                return line.rstrip("\r\n")
    return ""


def require_file(path, what="input file"):
    """Refuse a missing path or a directory in one line."""
    if os.path.isdir(path):
        raise UserInputError(f"expected a {what} but got a directory: {path}")
    if not os.path.isfile(path):
        raise UserInputError(f"{what} not found: {path}")


def check_input_file(path, what="input file"):
    """Refuse a missing path, a directory or an empty file in one line."""
    require_file(path, what)
    if not first_line(path):
        raise UserInputError(f"{what} {path} is empty")


class TableReader:
    """The rows of one CSV/TSV/JSONL file, read lazily.

    Attributes:
        path, format: the file and its format (one of :data:`TABLE_FORMATS`).
        columns: the header's column names (JSONL: the keys of the first object).

    Raises (as :class:`~keras_llm.errors.UserInputError`, one line naming the file and line):
        a missing, empty or non-UTF-8 file, a CSV quoting error, a row with another number of
        fields than the header, a JSONL line that is not a JSON object.
    """

    def __init__(self, path, fmt=None):
        self.path = os.fspath(path)
        check_input_file(self.path)
        self.format = fmt or table_format_of(self.path) or self._sniff()
        if self.format not in TABLE_FORMATS:
            raise UserInputError(f"unknown table format {self.format!r}; expected one of {', '.join(TABLE_FORMATS)}")
        records = self._records()
        header = next(records, None)
        records.close()
        if header is None:
            raise UserInputError(f"input file {self.path} is empty")
        self.columns = list(header[1]) if self.format == "jsonl" else [name.strip() for name in header[1]]

    def _sniff(self):
        line = first_line(self.path)
        return "jsonl" if line.lstrip().startswith("{") else "tsv" if "\t" in line else "csv"

    def _lines(self):
        """``(line number, text with its line end)``, decoded one line at a time (a bad byte names its line)."""
        with open(self.path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise UserInputError(f"input file {self.path} is not valid UTF-8 (line {number}); "
                                         "re-encode it as UTF-8") from None

    def _records(self):
        """``(line number, fields or object)`` of every non-blank record, the header included."""
        lines = self._lines()
        if self.format != "csv":
            for number, raw in lines:
                text = raw.rstrip("\n").rstrip("\r")
                if text.strip():
                    yield number, (self._json_object(text, number) if self.format == "jsonl" else text.split("\t"))
            return
        limit = csv.field_size_limit()
        # The default limit (131,072 characters) would reject a long document; the file is a bound.
        csv.field_size_limit(max(limit, os.path.getsize(self.path) + 1))
        try:
            reader = csv.reader((raw for _, raw in lines), strict=True)
            while True:
                start = reader.line_num + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    raise UserInputError(_csv_problem(self.path, start, reader.line_num, str(error))) from None
                if fields and not (len(fields) == 1 and not fields[0].strip()):
                    yield start, fields
        finally:
            csv.field_size_limit(limit)
            lines.close()

    def _json_object(self, text, line):
        try:
            value = json.loads(text)
        except ValueError as error:
            raise UserInputError(f"{self.path} line {line}: not valid JSON ({error.msg})") from None
        if not isinstance(value, dict):
            raise UserInputError(f"{self.path} line {line}: expected a JSON object per line, "
                                 f"got {type(value).__name__}")
        return value

    def require_column(self, column, option="--text-column"):
        """Refuse a file without ``column`` in one line that names the columns it has."""
        if column in self.columns:
            return
        shown = ", ".join(repr(name) if not name.isprintable() else name for name in self.columns[:_SHOWN_COLUMNS])
        more = f", … ({len(self.columns)} in all)" if len(self.columns) > _SHOWN_COLUMNS else ""
        kind = "key" if self.format == "jsonl" else "column"
        raise UserInputError(f"{self.path} has no {kind} {column!r}; its {kind}s are: {shown or '(none)'}{more} "
                             f"(choose one with {option})")

    def rows(self):
        """``(line number, row)`` of every data row: a list of str (CSV/TSV) or a dict (JSONL)."""
        records = self._records()
        if self.format != "jsonl":
            next(records)  # the header
        for line, row in records:
            if self.format != "jsonl" and len(row) != len(self.columns):
                hint = " (quote a text that holds a comma)" if self.format == "csv" else ""
                raise UserInputError(f"{self.path} line {line} has {len(row)} field{'s' * (len(row) != 1)}, "
                                     f"the header has {len(self.columns)}{hint}")
            yield line, row

    def count(self, column=None):
        """The number of data rows, from a full pass that keeps nothing: it sizes a progress bar and finds a
        bad row (and, with ``column``, a JSONL object without that text) before any model work."""
        total = 0
        for line, row in self.rows():
            if column is not None:
                self.text(row, column, line)
            total += 1
        return total

    def text(self, row, column, line):
        """The text in ``column`` of ``row`` (a JSONL object without it, or with a non-string, is refused)."""
        if self.format != "jsonl":
            return row[self.columns.index(column)]
        if column not in row:
            raise UserInputError(f"{self.path} line {line}: no key {column!r}")
        if not isinstance(row[column], str):
            raise UserInputError(f"{self.path} line {line}: {column!r} is {type(row[column]).__name__}, not text")
        return row[column]


def _cell(value, fmt):
    if isinstance(value, (list, tuple)):
        return " ".join(_cell(item, fmt) for item in value)
    if isinstance(value, float):
        return f"{value:.6f}"
    text = str(value)
    return " ".join(text.split("\t")).replace("\n", " ").replace("\r", " ") if fmt == "tsv" else text


def _json_value(value):
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    return round(float(value), 6) if isinstance(value, float) else value


class TableWriter:
    """Write rows of a :class:`TableReader` back in its format with ``new_columns`` appended.

    CSV/TSV cells: a list becomes its items joined by spaces, a float six decimals. JSONL: the
    object with the new keys added (lists stay lists, floats rounded to six decimals).

    Args:
        handle: a text file opened with ``newline=""`` (e.g. ``atomic_output(path, newline="")``).
        reader: the :class:`TableReader` the rows come from.
        new_columns: the names of the appended columns; one already in the file is refused.
    """

    def __init__(self, handle, reader, new_columns):
        clash = [name for name in new_columns if name in reader.columns]
        if clash:
            raise UserInputError(f"{reader.path} already has a column {clash[0]!r}, which predict would add; "
                                 "rename that column")
        self.handle, self.format, self.new_columns = handle, reader.format, list(new_columns)
        self._csv = csv.writer(handle, lineterminator="\n") if self.format == "csv" else None
        if self.format != "jsonl":
            self._write_fields([*reader.columns, *self.new_columns])

    def _write_fields(self, fields):
        if self._csv is not None:
            self._csv.writerow(fields)
        else:
            self.handle.write("\t".join(fields) + "\n")

    def write(self, row, values):
        """Write ``row`` (as the reader gave it) followed by ``values`` (one per new column)."""
        if self.format == "jsonl":
            record = {**row, **{name: _json_value(value) for name, value in zip(self.new_columns, values)}}
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            self._write_fields([*row, *(_cell(value, self.format) for value in values)])
