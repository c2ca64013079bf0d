"""A classifier run applied to files: `keras-llm evaluate` (a labelled table scored) and `predict` (a table labelled).

Both read texts the way the export does (:func:`keras_llm.data.pooled_prediction.classify_texts`:
texts longer than the context in overlapping windows with pooled logits, or truncated, as the run
was trained), so ``predict`` gives the labels and probabilities the SavedModel of the run gives,
and both say how many texts were longer than the context. The test file
of ``evaluate`` is read by the training reader (CSV/TSV with the run's text and label columns; a
run trained on headerless files, such as ``bert-sentiment``, also reads a headerless file with
its column names); the input of ``predict`` is streamed (CSV, TSV or JSON Lines).

Example:
    >>> metrics = evaluate_classifier_file("runs/clf", "test.csv")
    >>> predict_classifier_file("runs/clf", "unlabelled.jsonl", "labelled.jsonl")
"""

import csv
import os
import sys

import numpy as np

from keras_llm.data import read_labeled_table
from keras_llm.data.pooled_prediction import text_classifier
from keras_llm.data.table_stream import TableReader, TableWriter, check_input_file, first_line
from keras_llm.data.windows import LongTexts
from keras_llm.errors import UserInputError
from keras_llm.evaluation.classification import (
    classification_scores,
    confusion_matrix,
    format_confusion_table,
    format_per_class_table,
    most_confident_mistakes,
)
from keras_llm.evaluation.collapse import collapse_message
from keras_llm.evaluation.confusion_plot import save_confusion_png
from keras_llm.evaluation.prediction_files import check_output_file, check_writable_directory
from keras_llm.evaluation.progress import Progress
from keras_llm.evaluation.report import default_output_dir, write_evaluation
from keras_llm.files import atomic_output
from keras_llm.runs.classifier import MODEL_KIND, load_classifier_run
from keras_llm.runs.file_commands import (
    batch_size_of,
    batches,
    trained_epochs,
)
from keras_llm.runs.layout import read_run_info

MISTAKES_SHOWN = 5
HEADLINE = ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "macro_precision", "macro_recall",
            "weighted_precision", "weighted_recall")
PREDICTED_COLUMN = "predicted_label"


def probability_column(label):
    """The name of the appended column holding the probability of ``label``."""
    return f"probability_{label}"


def classifier_probabilities(model, tokenizer, info, batch_size):
    """A function ``texts (list of str) → (probabilities float32 (batch, classes), texts longer than the context)``,
    reading long texts as the run was trained to (run.json's ``training``)."""
    settings = LongTexts.from_training(info["training"])
    max_length = info["training"]["max_length"]
    return text_classifier(model, tokenizer, max_length, settings, batch_size=batch_size)


def _long_text_line(too_long, total, info):
    settings = LongTexts.from_training(info["training"])
    how = ("only their first tokens were read" if settings.mode == "truncate"
           else f"each was read in overlapping windows, logits {settings.pooling}-pooled")
    return f"{too_long} of {total} texts are longer than the {info['training']['max_length']}-token context; {how}"


def _has_header(path, columns):
    line = first_line(path)
    tab = path.endswith((".tsv", ".tab")) or (not path.endswith(".csv") and "\t" in line)
    fields = line.split("\t") if tab else next(csv.reader([line]), [])
    return all(column in {field.strip() for field in fields} for column in columns)


def read_test_table(path, data, text_column=None, label_column=None):
    """``(texts, labels)`` of a labelled CSV/TSV, with the run's columns (``data``: run.json's ``data``)."""
    text_column = text_column or data.get("text_column", "text")
    label_column = label_column or data.get("label_column", "label")
    check_input_file(path, "test file")
    column_names = data.get("column_names")
    headerless = column_names and not _has_header(path, (text_column, label_column))
    return read_labeled_table(path, text_column, label_column, column_names=column_names if headerless else None)


def _predict_all(predict, texts, batch_size):
    """``(probabilities, texts longer than the context)`` of every text, in batches with progress."""
    progress = Progress(len(texts), "evaluate", unit="texts")
    parts, too_long = [], 0
    for batch in batches(texts, batch_size):
        probabilities, long_rows = predict(batch)
        parts.append(probabilities)
        too_long += long_rows
        progress.advance(len(batch))
    progress.close()
    return np.concatenate(parts), too_long


def _shown(text, width=70):
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _report(run_dir, test_file, scores, labels, matrix, unseen, mistakes, long_line):
    lines = [f"{run_dir} on {test_file}: {scores['examples']} texts", *([long_line] if long_line else []),
             f"accuracy {scores['accuracy']:.4f}  macro-F1 {scores['macro_f1']:.4f}  "
             f"micro-F1 {scores['micro_f1']:.4f}  weighted-F1 {scores['weighted_f1']:.4f}"]
    if unseen:
        lines.append("labels the run never saw, counted as errors: "
                     + ", ".join(f"{label} ({n} text{'s' * (n != 1)})" for label, n in unseen.items()))
    lines += ["", format_per_class_table(scores["per_class"], "label"), "", format_confusion_table(matrix, labels)]
    if mistakes:
        lines += ["", "most confident mistakes (probability, gold → predicted, text):"]
        lines += [f"  {m['probability']:.3f}  {m['gold']} → {m['predicted']}  {_shown(m['text'])}" for m in mistakes]
    return "\n".join(lines)


def evaluate_classifier_file(run_dir, test_file, output_dir=None, batch_size=None, text_column=None,
                             label_column=None, log=print):
    """Score the run's best model on a labelled table; writes ``metrics.json`` and ``confusion_matrix.png``.

    A label the run never saw is not an error: its texts count as mistakes (the model cannot
    predict it), it gets a row in the per-class table and the confusion matrix, and the report
    names it in one line.

    Returns:
        the metrics dict (also in ``<output_dir>/metrics.json``).
    """
    info = read_run_info(run_dir, expected_model=MODEL_KIND)
    output_dir = check_writable_directory(output_dir or default_output_dir(run_dir, test_file))
    texts, gold_labels = read_test_table(test_file, info.get("data", {}), text_column, label_column)
    model, tokenizer, info = load_classifier_run(run_dir)
    labels = list(info["labels"])
    size = batch_size_of(info, batch_size)
    probabilities, too_long = _predict_all(classifier_probabilities(model, tokenizer, info, size), texts, size)
    predicted = np.argmax(probabilities, axis=-1)

    unseen = {}
    for label in gold_labels:
        if label not in labels:
            unseen[label] = unseen.get(label, 0) + 1
    all_labels = labels + sorted(unseen)
    index = {label: i for i, label in enumerate(all_labels)}
    gold = np.array([index[label] for label in gold_labels])
    matrix = confusion_matrix(gold, predicted, len(all_labels))
    scores = classification_scores(matrix, all_labels)
    chosen = probabilities[np.arange(len(texts)), predicted]
    mistakes = [{"text": texts[i], "gold": gold_labels[i], "predicted": labels[predicted[i]],
                 "probability": float(chosen[i])}
                for i in most_confident_mistakes(chosen, gold, predicted, MISTAKES_SHOWN)]
    save_confusion_png(matrix, all_labels, os.path.join(output_dir, "confusion_matrix.png"),
                       title=f"confusion matrix ({len(texts)} texts)")
    # Only the scores are top-level numbers: write_evaluation logs every top-level number to TensorBoard.
    metrics = {key: scores[key] for key in HEADLINE}
    metrics.update(counts={"examples": scores["examples"], "unseen_label_examples": sum(unseen.values()),
                           "longer_than_context": too_long},
                   test_file=os.path.abspath(test_file), unseen_labels=unseen, per_class=scores["per_class"],
                   confusion_matrix={"labels": all_labels, "matrix": matrix.tolist()},
                   most_confident_mistakes=mistakes)
    long_line = _long_text_line(too_long, len(texts), info) if too_long else None
    write_evaluation(run_dir, output_dir, metrics, _report(run_dir, test_file, scores, all_labels, matrix, unseen,
                                                           mistakes, long_line), step=trained_epochs(run_dir), log=log)
    collapsed = collapse_message(predicted, gold, labels, f"predictions on {os.path.basename(test_file)}")
    if collapsed:
        print(f"keras-llm: warning: {collapsed}", file=sys.stderr)
    return metrics


def _table_reader(input_file, input_format, what):
    if input_format in ("conll", "conllu"):
        raise UserInputError(f"a {what} run labels CSV, TSV or JSONL files, not {input_format}")
    return TableReader(input_file, input_format)


def predict_classifier_file(run_dir, input_file, output_file, batch_size=None, text_column=None, input_format=None,
                            log=print):
    """Label every row of a CSV/TSV/JSONL file, streamed in batches; the output is the input with
    :data:`PREDICTED_COLUMN` and one :func:`probability_column` per class appended, written atomically.

    Returns:
        the number of rows labelled.
    """
    info = read_run_info(run_dir, expected_model=MODEL_KIND)
    reader = _table_reader(input_file, input_format, MODEL_KIND)
    check_output_file(output_file, input_file)
    column = text_column or info.get("data", {}).get("text_column", "text")
    reader.require_column(column)
    total = reader.count(column)
    labels = list(info["labels"])
    with atomic_output(output_file, newline="") as handle:
        writer = TableWriter(handle, reader, [PREDICTED_COLUMN, *map(probability_column, labels)])
        model, tokenizer, info = load_classifier_run(run_dir)
        size = batch_size_of(info, batch_size)
        predict = classifier_probabilities(model, tokenizer, info, size)
        progress, too_long = Progress(total, "predict", unit="rows"), 0
        for batch in batches(reader.rows(), size):
            probabilities, long_rows = predict([reader.text(row, column, line) for line, row in batch])
            too_long += long_rows
            for (_, row), row_probabilities in zip(batch, probabilities):
                writer.write(row, [labels[int(np.argmax(row_probabilities))], *map(float, row_probabilities)])
            progress.advance(len(batch))
        progress.close()
    if too_long:
        log(_long_text_line(too_long, total, info))
    log(f"labelled {total} rows: {output_file}")
    return total
