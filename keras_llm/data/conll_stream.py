"""CoNLL / CoNLL-U files read one sentence at a time (for `keras-llm predict`), and written back with a tag column.

Unlike :func:`keras_llm.data.conll.read_conll` (training and evaluation: every word must carry
a tag), a file to tag may hold words only. Every line is kept so that it can be written back:

- ``conll``: the word is the first field of a line (fields separated by a TAB, or else by
  spaces), any other fields are kept; ``-DOCSTART-`` lines are passed through untagged;
- ``conllu``: ten TAB-separated columns, the word is FORM (column 2); ``#`` comments,
  multiword-token ranges (``1-2``) and empty nodes (``1.1``) are passed through untagged.

A blank line ends a sentence. The file is decoded line by line, so a file larger than memory
works, and a byte that is not UTF-8 is an error naming its line.

Example:
    >>> reader = ConllReader("test.conllu", "conllu")
    >>> for sentence in reader.sentences():
    ...     write_tagged_sentence(handle, sentence, tags_of(sentence.words), "conllu")
"""

import dataclasses
import os

from keras_llm.data.conll import DOCSTART, FORMATS, MAX_SENTENCE_WORDS
from keras_llm.data.table_stream import check_input_file
from keras_llm.errors import UserInputError


@dataclasses.dataclass
class ConllSentence:
    """One sentence as written: ``lines`` (no line ends), ``word_lines`` (the index in ``lines`` of
    each word) and ``words``."""

    lines: list
    word_lines: list
    words: list


class ConllReader:
    """The sentences of a CoNLL (``fmt="conll"``) or CoNLL-U (``"conllu"``) file, read lazily."""

    def __init__(self, path, fmt):
        if fmt not in FORMATS:
            raise UserInputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        self.path, self.format = os.fspath(path), fmt
        check_input_file(self.path, "CoNLL file")

    def _lines(self):
        with open(self.path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise UserInputError(f"CoNLL file {self.path} is not valid UTF-8 (line {number}); "
                                         "re-encode it as UTF-8") from None
                yield number, line.rstrip("\n").rstrip("\r")

    def _word(self, line, number):
        """The word of ``line``, or None for a line that is passed through untagged."""
        if self.format == "conll":
            fields = line.split("\t") if "\t" in line else line.split()
            return None if fields[0] == DOCSTART else fields[0]
        if line.startswith("#"):
            return None
        fields = line.split("\t")
        if len(fields) != 10:
            raise UserInputError(f"{self.path}:{number}: expected 10 TAB-separated CoNLL-U columns, "
                                 f"found {len(fields)}")
        if "-" in fields[0] or "." in fields[0]:
            return None
        if not fields[1].strip():
            raise UserInputError(f"{self.path}:{number}: empty FORM")
        return fields[1]

    def count(self):
        """The number of sentences, from a full pass that keeps nothing: it sizes a progress bar and finds
        a bad line before any model work."""
        return sum(1 for _ in self.sentences())

    def sentences(self):
        """Every :class:`ConllSentence` in file order (a block of comments only is one with no words)."""
        sentence = ConllSentence([], [], [])
        for number, line in self._lines():
            if not line.strip():
                if sentence.lines:
                    yield sentence
                sentence = ConllSentence([], [], [])
                continue
            word = self._word(line, number)
            if word is not None:
                if len(sentence.words) >= MAX_SENTENCE_WORDS:
                    raise UserInputError(f"{self.path}:{number}: sentence of over {MAX_SENTENCE_WORDS} words; "
                                         "are the blank lines between sentences missing?")
                sentence.word_lines.append(len(sentence.lines))
                sentence.words.append(word)
            sentence.lines.append(line)
        if sentence.lines:
            yield sentence


def write_tagged_sentence(handle, sentence, tags, fmt="conll"):
    """Write ``sentence`` with ``tags`` (one per word) appended as a last column, then a blank line.

    The new column is separated like the line's own fields (a TAB, or a space in a space-separated
    CoNLL file); with ``fmt="conllu"`` ranges and empty nodes get ``_``; comments and
    ``-DOCSTART-`` lines are written unchanged.
    """
    tagged = dict(zip(sentence.word_lines, tags))
    for index, line in enumerate(sentence.lines):
        separator = "\t" if "\t" in line or " " not in line else " "
        if index in tagged:
            line = f"{line}{separator}{tagged[index]}"
        elif fmt == "conllu" and not line.startswith("#"):  # a range or empty node keeps ten + one columns
            line = f"{line}\t_"
        handle.write(line + "\n")
    handle.write("\n")
