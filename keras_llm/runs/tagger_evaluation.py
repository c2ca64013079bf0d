"""`keras-llm evaluate` on a tagger run: a tagged CoNLL / CoNLL-U file scored.

The file is read by the training reader (the run's format and tag column; a ``*.conllu`` file is read
as CoNLL-U) and its words are tagged as given by the export's graph
(:class:`~keras_llm.runs.tagger_files.TaggerPredictor`). Word accuracy, per-tag P/R/F1 and, when the
run's tags look like entities (BIO/BIOES), conlleval's entity P/R/F1. ``--pretokenized`` also refuses a
file that is not CoNLL (a line without a TAB, a token holding whitespace).

Example:
    >>> metrics = evaluate_tagger_file("runs/ner", "test.tsv")
"""

import os

import numpy as np

from keras_llm.data.conll import guess_format, is_bio_tagset, read_conll
from keras_llm.data.table_stream import check_input_file
from keras_llm.errors import UserInputError
from keras_llm.evaluation.classification import format_confusion_table, format_per_class_table
from keras_llm.evaluation.confusion_plot import save_confusion_png
from keras_llm.evaluation.prediction_files import check_writable_directory
from keras_llm.evaluation.progress import Progress
from keras_llm.evaluation.report import default_output_dir, write_evaluation
from keras_llm.evaluation.tagging import tagging_scores
from keras_llm.runs.file_commands import batch_size_of, batches, trained_epochs
from keras_llm.runs.layout import read_run_info
from keras_llm.runs.tagger import MODEL_KIND, load_tagger_run
from keras_llm.runs.tagger_files import TaggerPredictor
from keras_llm.training.entity_metrics import entity_scores

HEADLINE = ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "macro_precision", "macro_recall")


def _format(path, info):
    fmt = info.get("data", {}).get("format")
    return "conllu" if str(path).lower().endswith(".conllu") else fmt or guess_format(path)


def read_test_sentences(path, info):
    """The tagged sentences of a CoNLL test file, read as the run's training data was."""
    check_input_file(path, "test file")
    data = info.get("data", {})
    try:
        return read_conll(path, fmt=_format(path, info), tag_column=data.get("tag_column"))
    except UserInputError as error:
        if "expected" not in str(error):
            raise
        raise UserInputError(f"{error} (a {MODEL_KIND} run is evaluated on CoNLL files: token<TAB>tag lines, "
                             "or CoNLL-U)") from None


def check_pretokenized_conll(path):
    """Refuse, in one line, a file whose lines are not CoNLL tokens (``evaluate --pretokenized``).

    Every line but blank and ``#`` comment lines must hold a TAB, and its first field (CoNLL-U:
    its FORM, the second) no whitespace: a sentence-per-line text or a table of texts fails here
    instead of being read as odd tokens.
    """
    check_input_file(path, "test file")
    conllu = str(path).lower().endswith(".conllu")
    try:
        with open(path, encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, 1):
                line = line.rstrip("\r\n")
                if not line.strip() or line.startswith("#"):
                    continue
                fields = line.split("\t")
                token = fields[1] if conllu and len(fields) > 1 else fields[0]
                if len(fields) < 2 or any(char.isspace() for char in token):
                    problem = "has no TAB" if len(fields) < 2 else f"has a token with whitespace ({token[:40]!r})"
                    raise UserInputError(
                        f"--pretokenized: {path} is not a CoNLL file (line {number} {problem}); evaluate reads "
                        "gold tokens from token<TAB>tag lines (a blank line between sentences) or CoNLL-U")
    except UnicodeDecodeError as error:
        raise UserInputError(f"--pretokenized: {path} is not UTF-8 text ({error.reason})") from None


def _shown_confusion(scores):
    """``(labels, matrix)`` to show: the "not tagged" column only when some word was not tagged."""
    labels, matrix = scores["confusion"]["labels"], np.asarray(scores["confusion"]["matrix"])
    return (labels, matrix) if scores["untagged_words"] else (labels[:-1], matrix[:-1, :-1])


def _report(run_dir, test_file, metrics, scores, entity):
    lines = [f"{run_dir} on {test_file}: {scores['words']} words in {metrics['counts']['sentences']} sentences",
             f"word accuracy {scores['accuracy']:.4f}  macro-F1 {scores['macro_f1']:.4f}  "
             f"micro-F1 {scores['micro_f1']:.4f}  weighted-F1 {scores['weighted_f1']:.4f}"]
    if entity:
        lines.append(f"entities: precision {entity['precision']:.4f}  recall {entity['recall']:.4f}  "
                     f"F1 {entity['f1']:.4f}  ({entity['support']} gold entities)")
    if scores["unseen_tags"]:
        lines.append("tags the run never saw, counted as errors: "
                     + ", ".join(f"{tag} ({n} word{'s' * (n != 1)})" for tag, n in scores["unseen_tags"].items()))
    if scores["untagged_words"]:
        lines.append(f"{scores['untagged_words']} words were past max_length and not tagged: counted as errors")
    lines += ["", format_per_class_table(scores["per_tag"], "tag")]
    if entity:
        lines += ["", format_per_class_table(entity["per_type"], "entity")]
    labels, matrix = _shown_confusion(scores)
    lines += ["", format_confusion_table(matrix, labels)]
    return "\n".join(lines)


def evaluate_tagger_file(run_dir, test_file, output_dir=None, batch_size=None, pretokenized=False, log=print):
    """Score the run's best model on a tagged CoNLL file; writes ``metrics.json`` and ``confusion_matrix.png``.

    The file's tokens are tagged as given; with ``pretokenized`` a file that is not CoNLL is refused
    (:func:`check_pretokenized_conll`) before anything is loaded.

    Gold tags the run never saw and words past ``max_length`` count as errors (named in the
    report). Entity scores compare the gold tags as written with the predictions (an untagged
    word reads as ``O``).

    Returns:
        the metrics dict (also in ``<output_dir>/metrics.json``).
    """
    info = read_run_info(run_dir, expected_model=MODEL_KIND)
    if pretokenized:
        check_pretokenized_conll(test_file)
    output_dir = check_writable_directory(output_dir or default_output_dir(run_dir, test_file))
    sentences = read_test_sentences(test_file, info)
    model, tokenizer, info = load_tagger_run(run_dir)
    predictor = TaggerPredictor(model, tokenizer, info)
    progress, predicted = Progress(len(sentences), "evaluate", unit="sentences"), []
    for batch in batches([s.words for s in sentences], batch_size_of(info, batch_size)):
        predicted += predictor.tag_sentences(batch)
        progress.advance(len(batch))
    progress.close()

    gold = [s.tags for s in sentences]
    scores = tagging_scores(gold, predicted, info["tags"])
    entity = None
    if is_bio_tagset(info["tags"]):
        entity = entity_scores(gold, [[tag or "O" for tag in tags] for tags in predicted])
    metrics = {key: scores[key] for key in HEADLINE}
    if entity:
        metrics.update(entity_precision=entity["precision"], entity_recall=entity["recall"], entity_f1=entity["f1"])
    # Only scores are top-level numbers: write_evaluation logs every top-level number to TensorBoard.
    metrics.update(
        counts={"sentences": len(sentences), "words": scores["words"], "untagged_words": scores["untagged_words"],
                "unseen_tag_words": sum(scores["unseen_tags"].values()),
                **({"gold_entities": entity["support"]} if entity else {})},
        test_file=os.path.abspath(test_file), unseen_tags=scores["unseen_tags"], per_tag=scores["per_tag"],
        confusion_matrix=scores["confusion"], **({"entity_per_type": entity["per_type"]} if entity else {}))
    save_confusion_png(*_shown_confusion(scores)[::-1], os.path.join(output_dir, "confusion_matrix.png"),
                       title=f"tag confusion ({scores['words']} words)")
    write_evaluation(run_dir, output_dir, metrics, _report(run_dir, test_file, metrics, scores, entity),
                     step=trained_epochs(run_dir), log=log)
    return metrics
