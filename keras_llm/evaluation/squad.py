"""Exact match and token F1 of extractive answers, scored as the official SQuAD v1.1 evaluation scores them.

Both compare *normalised* answers. The normalisation is the one SQuAD v1.1's evaluation defines
(written here from its description, not copied): lower-case; delete every ASCII punctuation
character (Python's ``string.punctuation``); delete the words ``a``, ``an`` and ``the``; collapse
whitespace to single spaces. Exact match is 1 when the normalised strings are equal. Token F1
counts the normalised whitespace tokens two answers share (with multiplicity): precision over
the prediction's tokens, recall over the reference's, F1 their harmonic mean (0 when nothing is
shared). A question with several reference answers takes the best score over them; totals are
means over questions, × 100.

Example:
    >>> exact_match("The Denver Broncos!", ["Denver Broncos"]), round(token_f1("Denver", ["Denver Broncos"]), 3)
    (1.0, 0.667)
"""

import collections
import re
import string

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text):
    """SQuAD v1.1's answer normalisation (see the module docstring)."""
    text = "".join(character for character in text.lower() if character not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _f1(prediction, reference):
    predicted, wanted = normalize_answer(prediction).split(), normalize_answer(reference).split()
    shared = sum((collections.Counter(predicted) & collections.Counter(wanted)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(predicted), shared / len(wanted)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction, references):
    """1.0 when the normalised ``prediction`` equals a normalised reference, else 0.0."""
    return float(any(normalize_answer(prediction) == normalize_answer(reference) for reference in references))


def token_f1(prediction, references):
    """The best token F1 of ``prediction`` against any of ``references``."""
    return max((_f1(prediction, reference) for reference in references), default=0.0)


def squad_scores(predictions, references):
    """``{"exact_match", "f1", "questions"}`` (× 100) of ``predictions`` (``{id: answer}``) against
    ``references`` (``{id: [answer texts]}``); every question with references must have a prediction
    (a missing one scores 0, as in the official evaluation, and is counted in ``missing``)."""
    scored = {key: texts for key, texts in references.items() if texts}
    em = f1 = 0.0
    missing = 0
    for key, texts in scored.items():
        if key not in predictions:
            missing += 1
            continue
        em += exact_match(predictions[key], texts)
        f1 += token_f1(predictions[key], texts)
    count = max(len(scored), 1)
    return {"exact_match": 100.0 * em / count, "f1": 100.0 * f1 / count, "questions": len(scored),
            "missing": missing}
