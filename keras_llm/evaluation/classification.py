"""Scores of single-label predictions: the confusion matrix, per-class and averaged precision/recall/F1.

Used by the classifier's `keras-llm evaluate` (one label per text) and by the tagger's (one tag
per word). Labels are ids into a list of names; the gold side may hold names the model cannot
predict (a class the run never saw), which simply have no correct predictions.

Averages follow scikit-learn's definitions (``precision_recall_fscore_support``): *macro* is the
unweighted mean over classes, *weighted* weights each class by its support, *micro* pools the
counts of all classes (equal to accuracy when every example gets one of the scored classes).
A ratio whose denominator is 0 is 0.0 (scikit-learn's ``zero_division=0``). Classes that occur
in neither the gold labels nor the predictions are left out of the averages, as scikit-learn
does when it is not given a label list.

Example:
    >>> matrix = confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], num_classes=2)
    >>> matrix.tolist()
    [[1, 1], [0, 2]]
    >>> classification_scores(matrix, ["neg", "pos"])["macro_f1"]      # (2/3 + 4/5) / 2
    0.7333333333333334
"""

import numpy as np


def confusion_matrix(gold_ids, predicted_ids, num_classes):
    """Counts ``(num_classes, num_classes)`` int64: row = gold id, column = predicted id.

    Example:
        >>> confusion_matrix([1, 1], [1, 0], 2).tolist()
        [[0, 0], [1, 1]]
    """
    gold, predicted = np.asarray(gold_ids, np.int64), np.asarray(predicted_ids, np.int64)
    if gold.shape != predicted.shape:
        raise ValueError(f"{gold.size} gold labels but {predicted.size} predictions")
    if gold.size and (min(gold.min(), predicted.min()) < 0 or max(gold.max(), predicted.max()) >= num_classes):
        raise ValueError(f"label ids must lie in [0, {num_classes})")
    counts = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(counts, (gold, predicted), 1)
    return counts


def _ratio(numerator, denominator):
    numerator, denominator = np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _f1(precision, recall):
    return _ratio(2 * precision * recall, precision + recall)


def classification_scores(confusion, labels, scored=None):
    """Accuracy, averaged and per-class precision/recall/F1 from a confusion matrix.

    Args:
        confusion: int array ``(n, n)``, rows gold, columns predicted (:func:`confusion_matrix`).
        labels: the ``n`` class names.
        scored: optional boolean ``(n,)``: the classes to report and average (default all). A
            column left out (e.g. "word not tagged") still counts as a wrong prediction for its
            gold row, but as a prediction of no scored class.

    Returns:
        dict with ``accuracy``, ``macro_/micro_/weighted_`` ``precision``, ``recall`` and ``f1``,
        ``examples``, and ``per_class``: ``{label: {"precision", "recall", "f1", "support"}}``.

    Example:
        >>> scores = classification_scores(np.array([[1, 1], [0, 2]]), ["neg", "pos"])
        >>> scores["per_class"]["neg"]
        {'precision': 1.0, 'recall': 0.5, 'f1': 0.6666666666666666, 'support': 2}
    """
    confusion = np.asarray(confusion, np.int64)
    scored = np.ones(len(labels), bool) if scored is None else np.asarray(scored, bool)
    correct, support, predicted = np.diag(confusion), confusion.sum(axis=1), confusion.sum(axis=0)
    precision, recall = _ratio(correct, predicted), _ratio(correct, support)
    f1 = _f1(precision, recall)
    averaged = scored & ((support > 0) | (predicted > 0))
    total = int(confusion.sum())
    micro_precision = float(_ratio(correct[scored].sum(), predicted[scored].sum()))
    micro_recall = float(_ratio(correct[scored].sum(), support[scored].sum()))
    weights = support[averaged]
    mean = lambda values: float(values[averaged].mean()) if averaged.any() else 0.0  # noqa: E731
    weighted = lambda values: float(_ratio((values[averaged] * weights).sum(), weights.sum()))  # noqa: E731
    return {
        "accuracy": float(_ratio(np.trace(confusion), total)),
        "macro_precision": mean(precision), "macro_recall": mean(recall), "macro_f1": mean(f1),
        "micro_precision": micro_precision, "micro_recall": micro_recall,
        "micro_f1": float(_f1(micro_precision, micro_recall)),
        "weighted_precision": weighted(precision), "weighted_recall": weighted(recall), "weighted_f1": weighted(f1),
        "examples": total,
        "per_class": {label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                              "support": int(support[i])}
                      for i, label in enumerate(labels) if scored[i]},
    }


def most_confident_mistakes(probabilities, gold_ids, predicted_ids, count=5):
    """Indices of the ``count`` wrong predictions with the highest predicted probability, highest first.

    Args:
        probabilities: float ``(examples,)``, the probability the model gave its prediction.
        gold_ids, predicted_ids: int ``(examples,)``.

    Example:
        >>> most_confident_mistakes([0.9, 0.99, 0.6], [0, 1, 1], [1, 1, 0], count=5)
        [0, 2]
    """
    wrong = np.flatnonzero(np.asarray(gold_ids) != np.asarray(predicted_ids))
    order = np.argsort(-np.asarray(probabilities, np.float64)[wrong], kind="stable")
    return wrong[order][:count].tolist()


def _cell(text, width):
    text = str(text).replace("\n", " ").replace("\t", " ")
    return text if len(text) <= width else text[:width - 1] + "…"


def format_per_class_table(per_class, name="class"):
    """A text table: one row per class with precision, recall, F1 and support."""
    width = max([len(name), *(len(_cell(label, 24)) for label in per_class)])
    lines = [f"{name:<{width}}  precision  recall      f1  support"]
    for label, row in per_class.items():
        lines.append(f"{_cell(label, 24):<{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['f1']:6.4f}"
                     f"  {row['support']:7d}")
    return "\n".join(lines)


def format_confusion_table(confusion, labels, max_classes=12):
    """The confusion matrix as text (rows gold, columns predicted), or a one-line note past ``max_classes``."""
    if len(labels) > max_classes:
        return f"confusion matrix: {len(labels)} classes, too many for text (see confusion_matrix.png)"
    names = [_cell(label, 10) for label in labels]
    width = max(6, *(len(name) for name in names), len(str(int(np.max(confusion, initial=0)))))
    corner = "gold \\ predicted"
    head = max(len(corner), *(len(name) for name in names))
    lines = [f"{corner:<{head}}  " + "  ".join(f"{name:>{width}}" for name in names)]
    for name, row in zip(names, np.asarray(confusion)):
        lines.append(f"{name:<{head}}  " + "  ".join(f"{int(count):>{width}d}" for count in row))
    return "\n".join(lines)
