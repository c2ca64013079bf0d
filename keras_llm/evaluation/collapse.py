"""Predictions that collapsed to one class: the failure a fine-tuning run hides behind a plausible accuracy.

A classifier that predicts the majority class for every text scores the majority's share (0.62 on a
set of reviews in issue 19), which reads like a weak model rather than a broken one. When every
prediction is one class while the gold labels hold several, the run and `keras-llm evaluate` say so
in one line, with the counts per class.

Example:
    >>> collapse_message([1, 1, 1], [0, 1, 0], ["negative", "positive"], "validation predictions")
    'validation predictions collapsed to one class (positive: 3, negative: 0)'
    >>> collapse_message([0, 1, 1], [0, 1, 0], ["negative", "positive"], "validation predictions") is None
    True
"""

import numpy as np

# Past this many classes the line names the predicted class and sums up the rest.
LISTED_CLASSES = 4


def collapse_message(predicted_ids, gold_ids, label_names, what):
    """A one-line description when every prediction is the same class, else None.

    Args:
        predicted_ids: int ``(examples,)``, ids into ``label_names``.
        gold_ids: int ``(examples,)``, ids of the gold labels (may include ids past ``label_names``:
            labels the model cannot predict).
        label_names: the ``num_classes`` names the model predicts.
        what: what the predictions are of, e.g. ``"validation predictions"``.

    Returns:
        ``"<what> collapsed to one class (<class>: <count>, ...)"`` when there are at least two
        predictions, all of one class, and the gold labels hold at least two classes (predicting the
        only class a set holds is no collapse); None otherwise.
    """
    predicted, gold = np.asarray(predicted_ids, np.int64), np.asarray(gold_ids, np.int64)
    if predicted.size < 2 or len(np.unique(predicted)) != 1 or len(np.unique(gold)) < 2:
        return None
    chosen = int(predicted[0])
    others = [name for i, name in enumerate(label_names) if i != chosen]
    if len(label_names) <= LISTED_CLASSES:
        rest = ", ".join(f"{name}: 0" for name in others)
    else:
        rest = f"each of the other {len(others)} classes: 0"
    return f"{what} collapsed to one class ({label_names[chosen]}: {predicted.size}, {rest})"
