"""A collection to index: one document per row of a CSV/TSV/JSONL file, with a text and an id.

The file is read with the table reader of `predict` (:class:`~keras_llm.data.table_stream.TableReader`),
so the same quoting, encoding and header rules apply. Ids are strings; without an id column a
document's id is its running number, counted from ``first_auto_id`` (an index that grows with
`index --append` continues its numbering instead of reusing numbers of deleted documents).

Example:
    >>> ids, texts = read_documents("faq.csv", text_column="answer", id_column="question_id")
    >>> len(ids) == len(texts)
    True
"""

from keras_llm.data.table_stream import TableReader
from keras_llm.errors import UserInputError


def read_documents(path, text_column="text", id_column=None, first_auto_id=0):
    """``(ids, texts)``: two lists of str, in file order.

    Args:
        path: a CSV, TSV or JSON Lines file with a header (JSONL: keys of each object).
        text_column: the column holding each document's text.
        id_column: the column holding each document's id; ``None`` numbers the documents
            ``first_auto_id``, ``first_auto_id + 1``, ...
        first_auto_id: the first number given when there is no id column.

    Raises:
        UserInputError: (one line) no such column, a file without rows, a document whose text is
            empty or whitespace only (it would match nothing and everything alike), an empty id, or
            an id given twice.
    """
    reader = TableReader(path)
    reader.require_column(text_column, "--text-column")
    if id_column is not None:
        reader.require_column(id_column, "--id-column")
    ids, texts, line_of_id = [], [], {}
    for line, row in reader.rows():
        text = reader.text(row, text_column, line)
        if not text.strip():
            raise UserInputError(f"{path} line {line}: the text in {text_column!r} is empty")
        if id_column is None:
            doc_id = str(first_auto_id + len(ids))
        else:
            doc_id = _id_text(reader, row, id_column, line)
            if doc_id in line_of_id:
                raise UserInputError(f"{path} line {line}: id {doc_id!r} was already given on line "
                                     f"{line_of_id[doc_id]}; ids must be unique")
        line_of_id[doc_id] = line
        ids.append(doc_id)
        texts.append(text)
    if not ids:
        raise UserInputError(f"{path} has no documents (only a header); an index needs at least one")
    return ids, texts


def _id_text(reader, row, column, line):
    # JSONL ids may be numbers; CSV/TSV ids are already text.
    value = row.get(column) if reader.format == "jsonl" else row[reader.columns.index(column)]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise UserInputError(f"{reader.path} line {line}: id {value!r} in {column!r} is not a string or integer")
    text = str(value).strip()
    if not text:
        raise UserInputError(f"{reader.path} line {line}: the id in {column!r} is empty")
    return text
