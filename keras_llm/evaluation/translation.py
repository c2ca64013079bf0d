"""Corpus BLEU and chrF against one or several references per sentence, with sacrebleu's signatures.

sacrebleu is the standard implementation, so the scores compare with published ones when the
signature (``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``) matches. A translator
whose target tokenizer lowercases cannot write a capital letter; scoring it case-sensitively would
measure the tokenizer, not the translations, so ``lowercase=True`` (``case:lc`` in the signature)
is what `keras-llm evaluate` passes for such a run.

Example:
    >>> scores = translation_scores(["te quiero ."], ["Te quiero."], lowercase=True)
    >>> scores["bleu"], scores["signatures"]["bleu"]
"""

from sacrebleu.metrics import BLEU, CHRF

from keras_llm.data.pairs import reference_streams
from keras_llm.errors import UserInputError


def translation_scores(hypotheses, references, tokenize="13a", lowercase=False):
    """``{"bleu", "chrf", "bleu_details", "signatures"}`` of ``hypotheses`` against ``references``.

    Args:
        hypotheses, references: lists of equal, non-zero length; a reference is a str or a list of
            str (several references of one sentence).
        tokenize: sacrebleu's BLEU tokenizer: ``"13a"`` (WMT's default), ``"zh"`` for Chinese,
            ``"intl"``, ``"char"``, ``"none"``.
        lowercase: compare case-insensitively (both metrics).

    Returns:
        ``bleu`` and ``chrf`` on 0-100; ``bleu_details`` the n-gram precisions, brevity penalty and
        lengths; ``signatures`` sacrebleu's signature of each metric.
    """
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not references:
        raise UserInputError("no sentence pairs to score")
    # force: our detokenizer writes "quiero ." where a reference has "quiero."; sacrebleu would warn on
    # stderr that the data looks tokenized, but its tokenizers (13a, zh) split the period off both the
    # same way, so the score is unaffected.
    bleu_metric = BLEU(tokenize=tokenize, lowercase=lowercase, force=True)
    chrf_metric = CHRF(lowercase=lowercase)
    streams = reference_streams(references)
    bleu = bleu_metric.corpus_score(hypotheses, streams)
    chrf = chrf_metric.corpus_score(hypotheses, streams)
    return {"bleu": float(bleu.score), "chrf": float(chrf.score),
            "bleu_details": {"precisions": [float(p) for p in bleu.precisions], "brevity_penalty": float(bleu.bp),
                             "hypothesis_length": int(bleu.sys_len), "reference_length": int(bleu.ref_len)},
            "signatures": {"bleu": str(bleu_metric.get_signature()), "chrf": str(chrf_metric.get_signature())}}
