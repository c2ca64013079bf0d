"""Word-level scores of a tagger: accuracy and per-tag precision/recall/F1 over every word.

Each word is one example of :mod:`keras_llm.evaluation.classification`. Two kinds of words the
model cannot get right are counted as errors, never dropped:

- a gold tag the run never saw in training (its tag gets a row in the table, with recall 0);
- a word the model did not tag because the sentence was cut at ``max_length`` word pieces (its
  prediction is the pseudo-tag :data:`NOT_TAGGED`, which is no prediction of any real tag, so it
  lowers recall but not precision).

Entity-level scores (BIO/BIOES) are conlleval's, in :mod:`keras_llm.training.entity_metrics`.

Example:
    >>> scores = tagging_scores([["B-PER", "O"], ["O"]], [["B-PER", "B-PER"], [None]], ["B-PER", "O"])
    >>> scores["accuracy"], scores["untagged_words"]            # 1 of 3 words right; 1 not tagged
    (0.3333333333333333, 1)
"""

from keras_llm.evaluation.classification import classification_scores, confusion_matrix

NOT_TAGGED = "(not tagged)"


def tagging_scores(gold_sequences, predicted_sequences, tag_names):
    """Word accuracy, averaged and per-tag P/R/F1, and the confusion matrix of the tags.

    Args:
        gold_sequences: one list of gold tags (str) per sentence; tags outside ``tag_names`` allowed.
        predicted_sequences: one list per sentence, of the same lengths: a tag of ``tag_names``, or
            ``None`` for a word that was not tagged.
        tag_names: the run's tag vocabulary.

    Returns:
        dict: the keys of :func:`~keras_llm.evaluation.classification.classification_scores`
        (``per_class`` renamed ``per_tag``; ``examples`` renamed ``words``), ``unseen_tags``
        (``{tag: words}``), ``untagged_words``, and ``confusion`` (``{"labels", "matrix"}``, the
        last label being :data:`NOT_TAGGED`).
    """
    if len(gold_sequences) != len(predicted_sequences):
        raise ValueError(f"{len(gold_sequences)} gold sentences but {len(predicted_sequences)} predicted")
    unseen = {}
    known = set(tag_names)
    for number, (gold, predicted) in enumerate(zip(gold_sequences, predicted_sequences)):
        if len(gold) != len(predicted):
            raise ValueError(f"sentence {number}: {len(gold)} gold tags but {len(predicted)} predicted")
        for tag in gold:
            if tag not in known:
                unseen[tag] = unseen.get(tag, 0) + 1
    labels = [*tag_names, *sorted(unseen), NOT_TAGGED]
    index = {tag: i for i, tag in enumerate(labels)}
    gold_ids = [index[tag] for sentence in gold_sequences for tag in sentence]
    predicted_ids = [index[NOT_TAGGED if tag is None else tag] for sentence in predicted_sequences
                     for tag in sentence]
    matrix = confusion_matrix(gold_ids, predicted_ids, len(labels))
    scores = classification_scores(matrix, labels, scored=[label != NOT_TAGGED for label in labels])
    scores["per_tag"] = scores.pop("per_class")
    scores["words"] = scores.pop("examples")
    return {**scores, "unseen_tags": unseen, "untagged_words": int(matrix[:, -1].sum()),
            "confusion": {"labels": labels, "matrix": matrix.tolist()}}
