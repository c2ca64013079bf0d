"""ROUGE-1/2/L F1 against one or several references per example (Google's ``rouge-score``).

Multi-reference scoring takes, per example and per ROUGE type, the best F1 over its references
(``RougeScorer.score_multi``; SciTLDR scores this way), then averages over examples.

Tokenization: rouge-score's own tokenizer lowercases and keeps only ``[a-z0-9]`` runs, so Chinese
text becomes no tokens at all and scores 0. ``tokenize="chars"`` scores on characters instead
(every non-space character one token): the usual way to report ROUGE on Chinese, which has no
spaces between words, and it needs no word segmenter whose choices would move the score.

Example:
    >>> rouge_scores(["a cat sat"], [["the cat sat", "a dog"]])["rouge1"]   # 66.67: best of the two
"""

from keras_llm.errors import UserInputError

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
TOKENIZERS = ("default", "chars")


class CharacterTokenizer:
    """rouge-score tokenizer: every non-whitespace character is a token (lowercased, for Latin letters)."""

    def tokenize(self, text):
        return [character for character in text.lower() if not character.isspace()]


def rouge_scorer(tokenize="default", rouge_types=ROUGE_TYPES):
    """A ``rouge_score.rouge_scorer.RougeScorer``: Porter stemming with the default tokenizer (as the
    summarization papers report), none on characters."""
    from rouge_score import rouge_scorer as scorers  # imported here: only scoring needs it

    if tokenize not in TOKENIZERS:
        raise UserInputError(f"rouge_tokenize must be one of {TOKENIZERS}; got {tokenize!r}")
    if tokenize == "chars":
        return scorers.RougeScorer(list(rouge_types), tokenizer=CharacterTokenizer())
    return scorers.RougeScorer(list(rouge_types), use_stemmer=True)


def rouge_scores(hypotheses, references, tokenize="default", rouge_types=ROUGE_TYPES):
    """Mean over examples of the best F1 over each example's references, per ROUGE type (0-100).

    Args:
        hypotheses: list of str.
        references: list of the same length; each a str or a non-empty list of str.
        tokenize: ``"default"`` (rouge-score's English tokenizer with stemming) or ``"chars"``.

    Returns:
        ``{rouge_type: score}``.
    """
    hypotheses = list(hypotheses)
    references = [[item] if isinstance(item, str) else list(item) for item in references]
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        raise UserInputError("no examples to score")
    scorer = rouge_scorer(tokenize, rouge_types)
    totals = dict.fromkeys(rouge_types, 0.0)
    for hypothesis, several in zip(hypotheses, references):
        for kind, score in scorer.score_multi(several, hypothesis).items():
            totals[kind] += score.fmeasure
    return {kind: 100.0 * total / len(hypotheses) for kind, total in totals.items()}
