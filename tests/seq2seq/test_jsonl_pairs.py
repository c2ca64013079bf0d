"""JSON Lines pairs: named fields, a list of source sentences joined, a list of references kept for
scoring and expanded for training, and every bad line named by its number."""

import json

import pytest

from keras_llm.data.pairs import read_pairs, reference_streams
from keras_llm.errors import UserInputError


def _write(tmp_path, lines, name="pairs.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines), encoding="utf-8")
    return path


def test_sources_are_joined_and_references_kept_or_expanded(tmp_path):
    path = _write(tmp_path, [{"source": ["First one.", " Second. "], "target": ["tl;dr a", "tl;dr b"], "id": 1},
                             "", {"source": "Plain text.", "target": "one"}])
    joined = "First one. Second."
    assert read_pairs(path, references=True) == ([joined, "Plain text."], [["tl;dr a", "tl;dr b"], ["one"]])
    assert read_pairs(path) == ([joined, joined, "Plain text."], ["tl;dr a", "tl;dr b", "one"])


def test_other_field_names(tmp_path):
    path = _write(tmp_path, [{"abstract": "x y", "title": "t1"}, {"abstract": "z", "title": "t2"}])
    assert read_pairs(path, source_field="abstract", target_field="title") == (["x y", "z"], ["t1", "t2"])


def test_tsv_targets_are_single_references(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tb\nc\td\n", encoding="utf-8")
    assert read_pairs(path, references=True) == (["a", "c"], [["b"], ["d"]])


@pytest.mark.parametrize("bad_line, message", [
    ('{"source": "a", "target": ', "line 2: not JSON"),
    ('["a", "b"]', "line 2: expected a JSON object"),
    ('{"source": "a"}', "line 2: no field 'target' (fields: source)"),
    ('{"source": "a", "target": ""}', "line 2: empty target text"),
    ('{"source": "a", "target": [" ", ""]}', "line 2: empty target text"),
    ('{"source": [], "target": "b"}', "line 2: empty source text"),
    ('{"source": "a", "target": 7}', "line 2: field 'target' must be a string or a list of strings; got int"),
])
def test_bad_lines_are_named(tmp_path, bad_line, message):
    path = _write(tmp_path, ['{"source": "ok", "target": "fine"}', bad_line, '{"source": "c", "target": "d"}'])
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        read_pairs(path)
    assert "\n" not in str(raised.value) and str(path) in str(raised.value)


def test_reference_streams_pad_with_none():
    assert reference_streams([["a", "b"], "c", ["d"]]) == [["a", "c", "d"], ["b", None, None]]
