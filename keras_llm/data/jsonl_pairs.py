"""Text-to-text pairs from JSON Lines: one object per line, a source field and a target field.

    {"source": ["First sentence.", "Second one."], "target": ["A summary.", "Another reference."]}

A source may be a string or a list of strings (sentences, joined with one space); a target may be
a string or a non-empty list of strings (several references: `evaluate` scores against all of
them, training sees one pair per reference). Blank lines are skipped. Every problem is reported
with the file and line number, as one :class:`~keras_llm.errors.UserInputError`.
"""

import json
import os

from keras_llm.errors import UserInputError

JSONL_SUFFIXES = (".jsonl", ".ndjson")


def is_jsonl(path):
    """Whether ``path`` names a JSON Lines file (by its suffix: ``.jsonl`` or ``.ndjson``)."""
    return os.fspath(path).lower().endswith(JSONL_SUFFIXES)


def _texts(value, where, field, allow_list):
    """``value`` as a list of stripped strings, or an error naming ``where`` and ``field``."""
    if isinstance(value, str):
        return [value.strip()]
    if allow_list and isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value]
    kind = "a string or a list of strings" if allow_list else "a string"
    raise UserInputError(f"{where}: field {field!r} must be {kind}; got {type(value).__name__}")


def read_jsonl_pairs(text, path, source_field="source", target_field="target"):
    """``(sources, references)`` of JSON Lines ``text`` read from ``path``.

    Args:
        text: the file's decoded text; path: its name, for messages.
        source_field, target_field: the keys of the source and target of each object.

    Returns:
        ``sources`` list of str (a list of sentences joined by spaces) and ``references`` a list
        of non-empty lists of str, one list per source.

    Raises:
        UserInputError: a line that is not a JSON object, lacks a field, has a value that is not
            text, an empty source or target (each naming the line), or fewer than 2 pairs.

    Example:
        >>> read_jsonl_pairs('{"source": ["a b.", "c."], "target": ["ab"]}\\n{"source": "d", "target": "e"}', "x.jsonl")
        (['a b. c.', 'd'], [['ab'], ['e']])
    """
    sources, references = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserInputError(f"{where}: not JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(record, dict):
            raise UserInputError(f"{where}: expected a JSON object with fields {source_field!r} and "
                                 f"{target_field!r}; got {type(record).__name__}")
        missing = [field for field in (source_field, target_field) if field not in record]
        if missing:
            raise UserInputError(f"{where}: no field {missing[0]!r} (fields: {', '.join(sorted(record)) or 'none'})")
        source = " ".join(part for part in _texts(record[source_field], where, source_field, True) if part)
        targets = [target for target in _texts(record[target_field], where, target_field, True) if target]
        if not source:
            raise UserInputError(f"{where}: empty source text")
        if not targets:
            raise UserInputError(f"{where}: empty target text")
        sources.append(source)
        references.append(targets)
    if len(sources) < 2:
        raise UserInputError(f"{path} has {len(sources)} pairs; at least 2 are needed")
    return sources, references
