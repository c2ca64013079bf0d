"""Reading user text files with one clear error per kind of bad file."""

import os

from keras_llm.errors import UserInputError


def read_user_file(path, what="file"):
    """The text of a UTF-8 file a user named (a leading byte-order mark is dropped).

    Args:
        path: the file.
        what: how error messages name it ("corpus file", "pairs file", ...).

    Raises:
        UserInputError: the path is missing or is a directory, or the bytes are not UTF-8 (the
            message gives the line).

    Example:
        >>> text = read_user_file("pairs.tsv", "pairs file")
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise UserInputError(f"expected a {what} but got a directory: {path}")
    if not os.path.isfile(path):
        raise UserInputError(f"{what} not found: {path}")
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise UserInputError(f"{what} {path} is not valid UTF-8 (line {line}, byte {error.start}); "
                             f"re-encode it as UTF-8") from None


def read_text(path):
    """Read a UTF-8 text corpus.

    Raises:
        UserInputError: the path is missing, is a directory, is empty, or is not UTF-8.

    Example:
        >>> text = read_text("data/tiny_shakespeare/input.txt")
    """
    text = read_user_file(path, "corpus file")
    if not text.strip():
        raise UserInputError(f"corpus file is empty: {os.fspath(path)}")
    return text
