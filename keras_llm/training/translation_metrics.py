"""Translation metrics: corpus BLEU, chrF (sacrebleu) and ROUGE, padding-aware token accuracy,
and a callback that scores a fixed validation sample at every evaluation.
"""

import os

import keras
import sacrebleu
import tensorflow as tf

from keras_llm.data.pairs import reference_streams
from keras_llm.training.rouge import rouge_scores

_LABELS = {"bleu": "BLEU", "chrf": "chrF", "rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L"}


def _cell(text, limit=300):
    """A Markdown table cell: several references joined by `` / ``, pipes escaped, cut to ``limit``
    characters (a document's head is enough to recognise it)."""
    text = text if isinstance(text, str) else " / ".join(text)
    text = text if len(text) <= limit else text[:limit] + " …"
    return text.replace("|", "\\|")


def corpus_bleu(hypotheses, references, tokenize="13a"):
    """Corpus BLEU (0-100) of sacrebleu 2.6 against one or several references per sentence.

    Args:
        hypotheses: list of str; references: of equal length, each a str or a list of str.
        tokenize: sacrebleu tokenizer: ``"13a"`` (default, WMT's), ``"zh"`` for Chinese,
            ``"intl"``, ``"char"``, ``"none"``...

    Example:
        >>> corpus_bleu(["the cat sat on the mat"], ["the cat sat on a mat"])   # 53.7
    """
    _check(hypotheses, references)
    return float(sacrebleu.corpus_bleu(list(hypotheses), reference_streams(references), tokenize=tokenize).score)


def corpus_chrf(hypotheses, references):
    """Corpus chrF (0-100; character n-gram F-score, β = 2) of sacrebleu 2.6 (references as for BLEU)."""
    _check(hypotheses, references)
    return float(sacrebleu.corpus_chrf(list(hypotheses), reference_streams(references)).score)


def corpus_rouge(hypotheses, references, rouge_types=("rouge1", "rouge2", "rougeL")):
    """Mean ROUGE F1 (0-100) per type, from Google's ``rouge-score`` (English tokenization).

    Returns:
        dict ``{rouge_type: score}``.
    """
    from rouge_score import rouge_scorer  # imported here: only reports need it

    _check(hypotheses, references)
    scorer = rouge_scorer.RougeScorer(list(rouge_types))
    totals = dict.fromkeys(rouge_types, 0.0)
    for hypothesis, reference in zip(hypotheses, references):
        for kind, score in scorer.score(reference, hypothesis).items():
            totals[kind] += score.fmeasure
    return {kind: 100.0 * total / max(len(hypotheses), 1) for kind, total in totals.items()}


def _check(hypotheses, references):
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")


class TranslationMetricsCallback(keras.callbacks.Callback):
    """At each evaluation, translate (summarize, ...) a fixed validation sample and score it.

    Adds ``val_bleu`` and ``val_chrf`` (and ``val_rouge1``, ``val_rouge2``, ``val_rougeL`` with
    ``rouge_tokenize``) to the epoch logs (so History has them and the run's TensorBoard scalars,
    written after this one, log them in run ``validation``, at the evaluation's step), and writes
    the first ``num_examples`` outputs with their sources and references as TensorBoard text
    (tag ``translations``, run ``samples``).

    Args:
        translate_fn: ``list[str] -> list[str]``, e.g. a closure over
            :func:`keras_llm.generation.seq2seq_search.translate`.
        sources: the validation sample (list of str); references: one str or list of str each.
        log_dir: the run's TensorBoard directory.
        steps_per_epoch: to log the text at the global step.
        tokenize: sacrebleu tokenizer for BLEU (``"zh"`` for Chinese targets).
        num_examples: translations shown in TensorBoard and on the console.
        verbose: print the scores and examples.
        rouge_tokenize: None (no ROUGE), ``"default"`` or ``"chars"`` (see :mod:`keras_llm.training.rouge`).
        output_name: what the outputs are called in the table (``"translation"``, ``"summary"``).
    """

    def __init__(self, translate_fn, sources, references, log_dir, steps_per_epoch, tokenize="13a",
                 num_examples=3, verbose=True, rouge_tokenize=None, output_name="translation"):
        super().__init__()
        self.translate_fn = translate_fn
        self.sources, self.references = list(sources), list(references)
        self.log_dir = log_dir
        self.steps_per_epoch = steps_per_epoch
        self.tokenize = tokenize
        self.num_examples = num_examples
        self.verbose = verbose
        self.rouge_tokenize = rouge_tokenize
        self.output_name = output_name
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        hypotheses = self.translate_fn(self.sources)
        bleu = corpus_bleu(hypotheses, self.references, self.tokenize)
        chrf = corpus_chrf(hypotheses, self.references)
        scores = {"bleu": bleu, "chrf": chrf}
        if self.rouge_tokenize:
            scores.update(rouge_scores(hypotheses, self.references, self.rouge_tokenize))
        if logs is not None:
            logs.update({f"val_{name}": value for name, value in scores.items()})
        rows = [f"| {_cell(s)} | {_cell(h)} | {_cell(r)} |" for s, h, r in
                zip(self.sources, hypotheses, self.references)][:self.num_examples]
        table = "\n".join([f"| source | {self.output_name} | reference |", "|---|---|---|", *rows])
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))
        with self._writer.as_default():
            tf.summary.text("translations", table, step=(epoch + 1) * self.steps_per_epoch)
        self._writer.flush()
        if self.verbose:
            shown = "  ".join(f"{_LABELS.get(name, name)} {value:.2f}" for name, value in scores.items())
            print(f"\n{shown} on {len(self.sources)} validation pairs\n{table}", flush=True)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
