"""SQuAD v1.1 JSON files: questions about paragraphs, each answered by spans of its paragraph.

The layout (Rajpurkar et al., EMNLP 2016; CC BY-SA 4.0) is
``{"version": "1.1", "data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
"answers": [{"text", "answer_start"}]}]}]}]}``, ``answer_start`` a character offset into the
context. :func:`read_squad` flattens it into one :class:`QAExample` per question, checking each
answer against its context (a file whose offsets do not point at their answers is refused, not
trained on). :func:`select_articles` cuts a file by article, so a development set can be split
into a training and a held-out part without two questions about one paragraph on both sides.

Example:
    >>> examples = read_squad("dev-v1.1.json", articles=slice(0, 38))   # the first 38 articles
    >>> examples[0].question, examples[0].answers[0]
    ('Which NFL team represented the AFC at Super Bowl 50?', ('Denver Broncos', 177))
"""

import dataclasses
import json
import os

from keras_llm.errors import UserInputError


@dataclasses.dataclass(frozen=True)
class QAExample:
    """One question about one context; ``answers`` is a tuple of ``(text, character start)`` (empty when unknown)."""

    id: str
    question: str
    context: str
    answers: tuple = ()
    title: str = ""


def _load(path):
    if not os.path.isfile(path):
        raise UserInputError(f"SQuAD file not found: {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserInputError(f"{path} is not a SQuAD JSON file ({type(error).__name__}: "
                             f"{str(error).splitlines()[0]})") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise UserInputError(f"{path} is not a SQuAD JSON file: expected an object with a \"data\" list of articles")
    return document


def _field(value, kind, where, path):
    if not isinstance(value, kind):
        raise UserInputError(f"{path}: {where} must be a {kind.__name__ if isinstance(kind, type) else 'value'}")
    return value


def _answers(question, context, where, path):
    answers = []
    for index, answer in enumerate(_field(question.get("answers", []), list, f"{where} answers", path)):
        text = _field(answer.get("text") if isinstance(answer, dict) else None, str, f"{where} answer {index} text",
                      path)
        start = answer.get("answer_start")
        if not isinstance(start, int) or isinstance(start, bool) or context[start:start + len(text)] != text:
            raise UserInputError(f"{path}: {where} answer {index} ({text[:40]!r}) is not at character "
                                 f"{start!r} of its context")
        answers.append((text, start))
    return tuple(answers)


def read_squad(path, articles=None):
    """The questions of a SQuAD v1.1 file, in file order.

    Args:
        path: a SQuAD v1.1 JSON file.
        articles: optional ``slice`` of the file's articles (e.g. ``slice(38, None)``: all but the first 38).

    Returns:
        list of :class:`QAExample`; a question with no answers keeps an empty ``answers`` (it can be
        answered, not scored).
    """
    document = _load(path)
    examples = []
    chosen = document["data"][articles] if articles is not None else document["data"]
    for article in chosen:
        article = _field(article, dict, "each article", path)
        title = str(article.get("title", ""))
        for p_index, paragraph in enumerate(_field(article.get("paragraphs"), list, f"article {title!r} paragraphs",
                                                   path)):
            where = f"article {title!r} paragraph {p_index}"
            paragraph = _field(paragraph, dict, where, path)
            context = _field(paragraph.get("context"), str, f"{where} context", path)
            for q_index, question in enumerate(_field(paragraph.get("qas", []), list, f"{where} qas", path)):
                question = _field(question, dict, f"{where} question {q_index}", path)
                text = _field(question.get("question"), str, f"{where} question {q_index} text", path)
                answers = _answers(question, context, f"{where} question {q_index}", path)
                examples.append(QAExample(str(question.get("id", f"{title}-{p_index}-{q_index}")), text, context,
                                          answers, title))
    if not examples:
        raise UserInputError(f"{path} holds no questions")
    return examples


def count_articles(path):
    """How many articles a SQuAD file holds."""
    return len(_load(path)["data"])


def select_articles(path, articles):
    """A SQuAD document (dict) holding only ``articles`` (a ``slice``) of the file at ``path``.

    Example:
        >>> held_out = select_articles("dev-v1.1.json", slice(38, None))   # the last 10 of 48 articles
    """
    document = _load(path)
    return {**document, "data": document["data"][articles]}
