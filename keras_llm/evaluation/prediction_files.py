"""Files for `keras-llm predict`, read one record at a time and written back in the same format.

The input's extension picks the format; the output has the input's records, in order, with the
prediction added:

- ``.jsonl`` / ``.ndjson``: one JSON object per line; the text is the value of ``field``; the
  prediction is added under ``output_name``. Blank lines are skipped.
- ``.csv`` (RFC 4180, quoted fields may span lines) and, with ``tsv_header=True``, ``.tsv``/``.tab``
  (tab-separated, not quoted): a header row naming ``field``; the prediction is a new last column.
- ``.tsv``/``.tab`` with ``tsv_header=False`` (the translator's pairs format): no header, the text
  in column ``column_index``; the prediction is appended as one more tab-separated field.
- anything else: plain text, one record per line (blank lines are empty records). The output has
  one line per input line holding the prediction alone, with ``\\`` written ``\\\\``, line feeds
  ``\\n``, carriage returns ``\\r`` and tabs ``\\t``, so line ``i`` always answers line ``i``.

Nothing holds the whole file: :meth:`RecordFile.records` is a generator, so files larger than
memory stream through. :meth:`RecordFile.count` runs the same parser once without keeping
anything, which both sizes the progress bar and finds a bad line before any model work.

Example:
    >>> records = RecordFile("prompts.jsonl", field="prompt")
    >>> with atomic_output("out.jsonl", newline="") as handle:
    ...     writer = records.writer(handle, "completion")
    ...     for record, text in records.records():
    ...         writer.write(record, text.upper())
"""

import csv
import json
import os

from keras_llm.data.table_stream import require_file
from keras_llm.errors import UserInputError
from keras_llm.files import one_line_write_errors

_BOM = b"\xef\xbb\xbf"
_ESCAPES = (("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))


def file_format(path, tsv_header=True):
    """``"jsonl"``, ``"csv"``, ``"tsv"`` (header), ``"tab_columns"`` (no header) or ``"text"``."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension in (".jsonl", ".ndjson"):
        return "jsonl"
    if extension == ".csv":
        return "csv"
    if extension in (".tsv", ".tab"):
        return "tsv" if tsv_header else "tab_columns"
    return "text"


def escape_line(text):
    """One line for a plain-text predictions file (see the module docstring)."""
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


def _one_field(text):
    """A value for an unquoted tab-separated field: tabs and line breaks become spaces."""
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def check_input_file(path, what="input file"):
    """The path of an existing regular file (it may be empty), or one line saying what is wrong."""
    path = os.fspath(path)
    require_file(path, what)
    return path


def check_output_file(path, input_path=None):
    """Refuse an output that is a folder or the input itself, and one whose folder cannot be written
    (checked now, with a probe file, so no model work is wasted on it)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise UserInputError(f"--output {path} is a directory; name a file")
    if input_path and os.path.exists(path) and os.path.samefile(path, input_path):
        raise UserInputError(f"--output {path} is the --input file; write the predictions to another file")
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):  # the nearest existing folder above (the missing ones are created)
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise UserInputError(f"cannot write {path}: {folder} is a file, not a folder")
    check_writable_directory(os.path.dirname(os.path.abspath(path)))
    return path


def check_writable_directory(directory):
    """Create ``directory`` if needed and prove it writable with a probe file; one line if it is not."""
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UserInputError(f"cannot write into {directory}: it is a file, not a folder")
    with one_line_write_errors(directory):
        os.makedirs(directory, exist_ok=True)
        probe = os.path.join(directory, f".keras-llm-write-test.{os.getpid()}")
        with open(probe, "w", encoding="utf-8"):
            pass
        os.remove(probe)
    return directory


def _lines(path, what):
    """The file's lines as str (line ends kept), decoded strictly: bad UTF-8 is one line naming its line."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                raise UserInputError(f"{what} {path} is not valid UTF-8 (line {number}); re-encode it as UTF-8") \
                    from None


class RecordFile:
    """A predict input: its records as ``(record, text)`` and a writer for the same format.

    Args:
        path: the input file (its extension picks the format, see the module docstring).
        field: JSONL key or header column of the text (``"jsonl"``, ``"csv"``, ``"tsv"``).
        column_index: 0-based column of the text in a header-less ``.tsv`` (``tsv_header=False``).
        tsv_header: whether a ``.tsv`` has a header row.
        what: how messages name the file.
        join_lists: a JSONL value that is a list of strings is one text, joined by spaces (seq2seq
            sources given as sentences, as training reads them).
    """

    def __init__(self, path, field="text", column_index=0, tsv_header=True, what="input file", join_lists=False):
        self.join_lists = bool(join_lists)
        self.path = check_input_file(path, what)
        self.format = file_format(path, tsv_header)
        self.field, self.column_index, self.what = field, int(column_index), what
        self.header = None

    def count(self):
        """Number of records; reads (and checks) the whole file once without keeping it."""
        total = sum(1 for _ in self.records())
        if total == 0:
            kind = "rows under its header" if self.format in ("csv", "tsv") else "records"
            raise UserInputError(f"{self.what} {self.path} has no {kind} (empty file)")
        return total

    def records(self):
        """Yield ``(record, text)``: the parsed record (written back unchanged) and the text to predict from."""
        reader = {"jsonl": self._json_records, "csv": self._table_records, "tsv": self._table_records,
                  "tab_columns": self._tab_records, "text": self._text_records}[self.format]
        return reader()

    def _text_records(self):
        for line in _lines(self.path, self.what):
            text = line[:-1] if line.endswith("\n") else line
            text = text[:-1] if text.endswith("\r") else text
            yield text, text

    def _json_records(self):
        for number, line in enumerate(_lines(self.path, self.what), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise UserInputError(f"{self.path}, line {number}: not a JSON object") from None
            if not isinstance(record, dict):
                raise UserInputError(f"{self.path}, line {number}: not a JSON object")
            if self.field not in record:
                keys = ", ".join(repr(key) for key in list(record)[:10])
                raise UserInputError(f"{self.path}, line {number}: no {self.field!r} key (it has {keys}); "
                                     f"name the key with --text-column")
            value = record[self.field]
            if self.join_lists and isinstance(value, list) and all(isinstance(item, str) for item in value):
                value = " ".join(item.strip() for item in value if item.strip())
            if not isinstance(value, str):
                raise UserInputError(f"{self.path}, line {number}: {self.field!r} is not a string")
            yield record, value

    def _table_records(self):
        delimiter = "," if self.format == "csv" else "\t"
        quoting = csv.QUOTE_MINIMAL if self.format == "csv" else csv.QUOTE_NONE
        reader = csv.reader(_lines(self.path, self.what), delimiter=delimiter, quoting=quoting, strict=True)
        header = None
        try:
            for fields in reader:
                if header is None:
                    header = self._set_header(fields)
                    continue
                if not any(field.strip() for field in fields):
                    continue
                if len(fields) != len(self.header):
                    raise UserInputError(f"{self.path}, line {reader.line_num}: {len(fields)} fields, but the header "
                                         f"has {len(self.header)}")
                yield fields, fields[self._index]
        except csv.Error as error:
            raise UserInputError(f"{self.path}, line {reader.line_num}: {error}") from None

    def _set_header(self, fields):
        if self.field not in fields:
            shown = ", ".join(repr(name) for name in fields[:10])
            raise UserInputError(f"{self.path} has no {self.field!r} column (its columns: {shown}); "
                                 f"name the column with --text-column")
        self.header, self._index = fields, fields.index(self.field)
        return fields

    def _tab_records(self):
        for number, line in enumerate(_lines(self.path, self.what), start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) <= self.column_index:
                raise UserInputError(f"{self.path}, line {number}: {len(fields)} tab-separated columns, but the "
                                     f"source is column {self.column_index}")
            yield line, fields[self.column_index]

    def writer(self, handle, output_name):
        """A :class:`RecordWriter` writing this format to ``handle`` (opened with ``newline=""``)."""
        return RecordWriter(self, handle, output_name)


class RecordWriter:
    """Writes records of a :class:`RecordFile` with one more field, ``output_name``."""

    def __init__(self, records, handle, output_name):
        self.format, self.handle, self.output_name = records.format, handle, output_name
        self._csv = csv.writer(handle, lineterminator="\n") if self.format == "csv" else None
        if self.format in ("csv", "tsv"):
            if records.header is None:
                raise ValueError("RecordFile.count() reads the header before a writer is made")
            if output_name in records.header:
                raise UserInputError(f"{records.path} already has a {output_name!r} column")
            self._row([*records.header, output_name])

    def _row(self, fields):
        if self._csv is not None:
            self._csv.writerow(fields)
        else:  # TSV is not quoted: a field holds no tab or line break (see _one_field)
            self.handle.write("\t".join(fields) + "\n")

    def write(self, record, prediction):
        if self.format == "jsonl":
            if self.output_name in record:
                raise UserInputError(f"a record already has a {self.output_name!r} key")
            self.handle.write(json.dumps({**record, self.output_name: prediction}, ensure_ascii=False) + "\n")
        elif self.format == "csv":
            self._row([*record, prediction])
        elif self.format == "tsv":
            self._row([*record, _one_field(prediction)])
        elif self.format == "tab_columns":
            self.handle.write(f"{record}\t{_one_field(prediction)}\n")
        else:
            self.handle.write(escape_line(prediction) + "\n")
