"""A tagger run applied to files: `keras-llm evaluate` (a tagged CoNLL file scored) and `predict` (a file tagged).

Both run the export's own graph (:class:`~keras_llm.export.tagger.TaggerModule`): raw texts
are split into words by the serving rule and tagged by ``serve``; a CoNLL file's words are
tagged as given by ``tag_words``. So ``predict`` gives the SavedModel's tags.

- ``evaluate``: a CoNLL / CoNLL-U file read by the training reader (the run's format and tag
  column; a ``*.conllu`` file is read as CoNLL-U). Word accuracy, per-tag P/R/F1 and, when the
  run's tags look like entities (BIO/BIOES), conlleval's entity P/R/F1.
- ``predict``: a CoNLL file gets one more column (the predicted tag; ``_`` for a word past
  ``max_length``); a CSV/TSV/JSONL table gets ``tokens``, ``predicted_tags`` and ``tag_scores``
  (space-separated in CSV/TSV, whose words never hold spaces; lists in JSONL).

Which kind an input is: ``--format`` if given; else ``*.conllu``/``*.conll`` are CoNLL, ``*.csv``
and ``*.jsonl`` tables, and a ``*.tsv`` (CoNLL files are often named so) a table only when its
first line names the text column.

Pre-tokenised input (``--pretokenized``): a CoNLL file's gold tokens are always tagged as given;
``evaluate --pretokenized`` also refuses a file that is not CoNLL (a line without a TAB, a token
holding whitespace). ``predict --pretokenized`` splits a table's texts at whitespace only, and
reads a ``*.txt`` file as one pre-tokenised sentence per line, written back as CoNLL
(``token<TAB>tag`` lines, a blank line after each sentence; ``_`` for a token past ``max_length``).

Example:
    >>> metrics = evaluate_tagger_file("runs/ner", "test.tsv")
    >>> predict_tagger_file("runs/ner", "test.conllu", "tagged.conllu")
"""

import os

import numpy as np
import tensorflow as tf

from keras_llm.data.conll import guess_format, is_bio_tagset, read_conll
from keras_llm.data.conll_stream import ConllReader, write_tagged_sentence
from keras_llm.data.table_stream import TableReader, TableWriter, check_input_file, first_line, table_format_of
from keras_llm.errors import UserInputError
from keras_llm.evaluation.classification import format_confusion_table, format_per_class_table
from keras_llm.evaluation.confusion_plot import save_confusion_png
from keras_llm.evaluation.prediction_files import check_output_file, check_writable_directory
from keras_llm.evaluation.progress import Progress
from keras_llm.evaluation.report import default_output_dir, write_evaluation
from keras_llm.evaluation.tagging import tagging_scores
from keras_llm.export.tagger import TaggerModule
from keras_llm.files import atomic_output
from keras_llm.runs.file_commands import (
    batch_size_of,
    batches,
    trained_epochs,
)
from keras_llm.runs.layout import read_run_info
from keras_llm.runs.tagger import MODEL_KIND, load_tagger_run
from keras_llm.training.entity_metrics import entity_scores

UNTAGGED = "_"
TABLE_COLUMNS = ("tokens", "predicted_tags", "tag_scores")
HEADLINE = ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "macro_precision", "macro_recall")


class TaggerPredictor:
    """The export's tagging graph around a loaded run, for raw texts and for pre-split words."""

    def __init__(self, model, tokenizer, run_info):
        self.module = TaggerModule(model, tokenizer, run_info["tags"], run_info["training"]["max_length"])
        self._tag_words = tf.function(self.module.tag_words, input_signature=[
            tf.RaggedTensorSpec([None, None], tf.string, ragged_rank=1, row_splits_dtype=tf.int64)])

    @staticmethod
    def _rows(out):
        lengths = out["lengths"].numpy()
        tokens, tags, scores = (out[key].numpy() for key in ("tokens", "tags", "scores"))
        return [([t.decode("utf-8") for t in tokens[i, :n]], [t.decode("utf-8") for t in tags[i, :n]],
                 [float(s) for s in scores[i, :n]]) for i, n in enumerate(lengths)]

    def tag_texts(self, texts):
        """``[(words, tags, scores)]`` of raw texts (words past ``max_length`` are left out, as the export does)."""
        return self._rows(self.module.serve(tf.constant(texts, tf.string)))

    def tag_token_lists(self, sentences):
        """``[(words, tags, scores)]`` of word lists tagged as given (words past ``max_length`` left out)."""
        return self._rows(self._tag_words(tf.ragged.constant(sentences, dtype=tf.string, row_splits_dtype=tf.int64)))

    def tag_sentences(self, sentences):
        """One tag list per word list; ``None`` for a word past ``max_length`` (not tagged)."""
        out = self.tag_token_lists(sentences)
        return [tags + [None] * (len(words) - len(tags)) for words, (_, tags, _) in zip(sentences, out)]


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


def input_kind(path, input_format, text_column):
    """``"conll"``, ``"conllu"``, ``"csv"``, ``"tsv"`` or ``"jsonl"`` (see the module docstring)."""
    if input_format:
        return input_format
    name = str(path).lower()
    if name.endswith((".conllu", ".conll")):
        return guess_format(name)
    kind = table_format_of(name)
    if kind == "tsv":
        check_input_file(path)
        return "tsv" if text_column in (field.strip() for field in first_line(path).split("\t")) else "conll"
    return kind or "conll"


def _predict_conll(predictor, reader, handle, batch_size, total):
    progress = Progress(total, "predict", unit="sentences")
    for batch in batches(reader.sentences(), batch_size):
        with_words = [sentence.words for sentence in batch if sentence.words]
        tags = iter(predictor.tag_sentences(with_words) if with_words else [])
        for sentence in batch:
            predicted = next(tags) if sentence.words else []
            write_tagged_sentence(handle, sentence, [tag or UNTAGGED for tag in predicted], reader.format)
        progress.advance(len(batch))
    progress.close()


def _predict_table(predictor, reader, column, writer, batch_size, total, pretokenized=False):
    progress = Progress(total, "predict", unit="rows")
    for batch in batches(reader.rows(), batch_size):
        texts = [reader.text(row, column, line) for line, row in batch]
        tagged = predictor.tag_token_lists([text.split() for text in texts]) if pretokenized else \
            predictor.tag_texts(texts)
        for (_, row), (words, tags, scores) in zip(batch, tagged):
            writer.write(row, [words, tags, scores])
        progress.advance(len(batch))
    progress.close()


def _text_lines(path):
    """The lines of a UTF-8 text file (without line ends), read lazily; bad UTF-8 is one error line."""
    with open(path, encoding="utf-8-sig") as handle:
        try:
            for line in handle:
                yield line.rstrip("\r\n")
        except UnicodeDecodeError as error:
            raise UserInputError(f"{path} is not UTF-8 text ({error.reason})") from None


def _predict_text_lines(predictor, path, handle, batch_size, total):
    """One pre-tokenised sentence per line in, CoNLL (token<TAB>tag, blank line after each) out."""
    progress = Progress(total, "predict", unit="sentences")
    for batch in batches(_text_lines(path), batch_size):
        sentences = [line.split() for line in batch]
        with_words = [words for words in sentences if words]
        tags = iter(predictor.tag_sentences(with_words) if with_words else [])
        for words in sentences:
            for word, tag in zip(words, next(tags) if words else []):
                handle.write(f"{word}\t{tag or UNTAGGED}\n")
            handle.write("\n")
        progress.advance(len(batch))
    progress.close()


def predict_tagger_file(run_dir, input_file, output_file, batch_size=None, text_column=None, input_format=None,
                        pretokenized=False, log=print):
    """Tag a CoNLL file (a predicted-tag column appended) or the texts of a CSV/TSV/JSONL table
    (:data:`TABLE_COLUMNS` appended), streamed in batches and written atomically.

    With ``pretokenized``, a table's texts are split at whitespace only and a ``*.txt`` file is
    read as one pre-tokenised sentence per line (written as CoNLL; see the module docstring).

    Returns:
        the number of sentences (CoNLL) or rows (tables) tagged.
    """
    info = read_run_info(run_dir, expected_model=MODEL_KIND)
    column = text_column or "text"
    text_file = pretokenized and not input_format and str(input_file).lower().endswith(".txt")
    kind = "text" if text_file else input_kind(input_file, input_format, column)
    if kind == "text":
        check_input_file(input_file)
        reader = None
        total = sum(1 for _ in _text_lines(input_file))
    elif kind in ("conll", "conllu"):
        reader = ConllReader(input_file, kind)
        total = reader.count()
    else:
        reader = TableReader(input_file, kind)
        reader.require_column(column)
        total = reader.count(column)
    check_output_file(output_file, input_file)
    table = isinstance(reader, TableReader)
    with atomic_output(output_file, newline="") as handle:
        writer = TableWriter(handle, reader, TABLE_COLUMNS) if table else None  # a clash fails here, early
        model, tokenizer, info = load_tagger_run(run_dir)
        predictor, size = TaggerPredictor(model, tokenizer, info), batch_size_of(info, batch_size)
        if kind == "text":
            _predict_text_lines(predictor, input_file, handle, size, total)
        elif table:
            _predict_table(predictor, reader, column, writer, size, total, pretokenized)
        else:
            _predict_conll(predictor, reader, handle, size, total)
    log(f"tagged {total} {'rows' if table else 'sentences'}: {output_file}")
    return total
