"""Read token-tagged sentences: two-column CoNLL files and CoNLL-U treebanks.

Two formats:

- ``conll``: one token per line, ``token<TAB>tag`` (a line without a TAB is split at runs of
  spaces instead, as in CoNLL-2003 style files); a blank line ends a sentence; ``-DOCSTART-``
  lines (document breaks) are skipped. Exactly two columns are expected.
- ``conllu``: Universal Dependencies' ten TAB-separated columns; ``#`` comment lines,
  multiword-token ranges (ID ``1-2``) and empty nodes (ID ``1.1``) are skipped; the tag comes
  from ``tag_column``: ``"upos"`` (column 4, the default), ``"xpos"`` (column 5) or a 1-based
  column number.

Defined behaviour on odd input: runs of blank lines are one separator (no empty sentences);
a trailing sentence without a final blank line is kept; a byte-order mark and CRLF line ends
are accepted. Bytes that are not UTF-8 (the error names the line), a line with the wrong number
of columns, an empty token or tag, or a "sentence" of more than :data:`MAX_SENTENCE_WORDS` words
(almost always a file whose blank lines between sentences are missing) raises
:class:`~keras_llm.errors.UserInputError` naming ``file:line``.
"""

import dataclasses
import re

from keras_llm.data.text import read_user_file
from keras_llm.errors import UserInputError

FORMATS = ("conll", "conllu")
CONLLU_COLUMNS = {"form": 2, "lemma": 3, "upos": 4, "xpos": 5, "deprel": 8}
MAX_SENTENCE_WORDS = 1000
DOCSTART = "-DOCSTART-"
UNKNOWN_TAG_ID = -1
_BIO_TAG = re.compile(r"^[BIES]-.+$")


@dataclasses.dataclass
class TaggedSentence:
    """One sentence: ``words`` and their ``tags`` (lists of str of equal length)."""

    words: list
    tags: list


def guess_format(path):
    """``"conllu"`` for ``*.conllu`` files, else ``"conll"``."""
    return "conllu" if str(path).lower().endswith(".conllu") else "conll"


def _conllu_column(tag_column):
    if tag_column is None:
        return CONLLU_COLUMNS["upos"]
    if isinstance(tag_column, str) and tag_column.lower() in CONLLU_COLUMNS:
        return CONLLU_COLUMNS[tag_column.lower()]
    try:
        column = int(tag_column)
    except (TypeError, ValueError):
        raise UserInputError(f"tag column must be one of {', '.join(CONLLU_COLUMNS)} or a number 1-10; "
                             f"got {tag_column!r}") from None
    if not 1 <= column <= 10 or column == 2:
        raise UserInputError(f"tag column must be a CoNLL-U column 1-10 other than FORM (2); got {column}")
    return column


def _fields(line, fmt, where):
    if fmt == "conllu":
        fields = line.split("\t")
        if len(fields) != 10:
            raise UserInputError(f"{where}: expected 10 TAB-separated CoNLL-U columns, found {len(fields)}")
        return fields
    fields = line.split("\t") if "\t" in line else line.split()
    if len(fields) != 2:
        raise UserInputError(f"{where}: expected 2 columns (token<TAB>tag), found {len(fields)}")
    return fields


def read_conll(path, fmt=None, tag_column=None):
    """Sentences of a CoNLL (two-column) or CoNLL-U file.

    Args:
        path: the file (UTF-8).
        fmt: ``"conll"``, ``"conllu"`` or None (guess from the file name).
        tag_column: CoNLL-U only: ``"upos"`` (default), ``"xpos"``, or a 1-based column number.

    Returns:
        list of :class:`TaggedSentence`, in file order.

    Example:
        >>> sentences = read_conll("data/ud_english_ewt/dev.tsv")
        >>> sentences[0].words[:3], sentences[0].tags[:3]
        (['From', 'the', 'AP'], ['ADP', 'DET', 'PROPN'])
    """
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise UserInputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "conll" and tag_column not in (None, 2, "2"):
        raise UserInputError("tag_column applies to CoNLL-U files; two-column files always have the tag second")
    column = _conllu_column(tag_column) if fmt == "conllu" else 2
    text = read_user_file(path, "CoNLL file")  # UTF-8 (a bad byte is an error naming its line)
    sentences, words, tags, start = [], [], [], 1
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            if words:
                sentences.append(TaggedSentence(words, tags))
            words, tags = [], []
            continue
        if fmt == "conllu" and line.startswith("#"):
            continue
        if fmt == "conll" and line.split()[0] == DOCSTART:
            continue
        where = f"{path}:{number}"
        fields = _fields(line, fmt, where)
        if fmt == "conllu" and ("-" in fields[0] or "." in fields[0]):
            continue  # multiword-token range or empty node: not a word of the tagged sequence
        word, tag = fields[1 if fmt == "conllu" else 0], fields[column - 1]
        if not word.strip() or not tag.strip():
            raise UserInputError(f"{where}: empty token or tag")
        if not words:
            start = number
        words.append(word)
        tags.append(tag.strip())
        if len(words) > MAX_SENTENCE_WORDS:
            raise UserInputError(f"{path}:{start}: sentence of over {MAX_SENTENCE_WORDS} words; "
                                 "are the blank lines between sentences missing?")
    if words:
        sentences.append(TaggedSentence(words, tags))
    if not sentences:
        raise UserInputError(f"{path} holds no tagged sentences")
    return sentences


def tag_vocabulary(sentences):
    """The sorted distinct tags of ``sentences`` (list of str); the id of a tag is its index."""
    return sorted({tag for sentence in sentences for tag in sentence.tags})


def encode_tags(sentences, tag_names):
    """Tag ids of every sentence; tags not in ``tag_names`` get :data:`UNKNOWN_TAG_ID` (-1).

    Returns:
        ``(ids, unknown)``: a list of int lists, and a dict ``{unseen tag: count}``.
    """
    index = {tag: i for i, tag in enumerate(tag_names)}
    ids, unknown = [], {}
    for sentence in sentences:
        ids.append([index.get(tag, UNKNOWN_TAG_ID) for tag in sentence.tags])
        for tag in sentence.tags:
            if tag not in index:
                unknown[tag] = unknown.get(tag, 0) + 1
    return ids, unknown


def is_bio_tagset(tag_names):
    """True when every tag is ``O`` or ``<B|I|E|S>-TYPE`` (so entity-level metrics apply)."""
    return any(tag != "O" for tag in tag_names) and all(tag == "O" or _BIO_TAG.match(tag) for tag in tag_names)
