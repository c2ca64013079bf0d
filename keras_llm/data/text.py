"""Reading user text files with one clear error per kind of bad file."""

import os

from keras_llm.errors import UserInputError


def read_text(path):
    """Read a UTF-8 text file.

    Raises:
        UserInputError: the path is missing, is a directory, is empty, or is not UTF-8.

    Example:
        >>> text = read_text("data/tiny_shakespeare/input.txt")
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserInputError(f"corpus file not found: {path}")
    if os.path.isdir(path):
        raise UserInputError(f"expected a text file but got a directory: {path}")
    with open(path, "rb") as handle:
        raw = handle.read()
    if not raw.strip():
        raise UserInputError(f"corpus file is empty: {path}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserInputError(
            f"corpus file is not valid UTF-8 ({path}, byte {error.start}); re-encode it as UTF-8") from None
