"""The SQuAD v1.1 reader: questions in file order, checked answers, article slices, one-line errors."""

import json
import os

import pytest

from keras_llm.data.squad import count_articles, read_squad, select_articles
from keras_llm.errors import UserInputError

TINY = os.path.join(os.path.dirname(__file__), "..", "fixtures", "squad_tiny.json")


def test_reads_every_question_with_answers_that_point_into_the_context():
    examples = read_squad(TINY)
    assert len(examples) == 9 and [e.title for e in examples].count("Warsaw") == 3
    for example in examples:
        for text, start in example.answers:
            assert example.context[start:start + len(text)] == text
    assert examples[0].answers[0] == ("Denver Broncos", 177)


def test_article_slices_split_without_sharing_a_paragraph():
    assert count_articles(TINY) == 2
    first, rest = read_squad(TINY, slice(0, 1)), read_squad(TINY, slice(1, None))
    assert {e.title for e in first} == {"Super_Bowl_50"} and {e.title for e in rest} == {"Warsaw"}
    assert len(select_articles(TINY, slice(1, None))["data"]) == 1


def _write(tmp_path, document):
    path = tmp_path / "bad.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("document, fragment", [
    ("{not json", "is not a SQuAD JSON file"),
    ({"version": "1.1"}, "\"data\" list"),
    ({"data": [{"title": "t", "paragraphs": [{"context": "abc", "qas": [
        {"id": "1", "question": "q", "answers": [{"text": "b", "answer_start": 0}]}]}]}]}, "is not at character 0"),
    ({"data": [{"title": "t", "paragraphs": [{"context": 5, "qas": []}]}]}, "context must be a str"),
    ({"data": []}, "holds no questions"),
])
def test_bad_files_are_refused_in_one_line(tmp_path, document, fragment):
    with pytest.raises(UserInputError, match=fragment):
        read_squad(_write(tmp_path, document))
