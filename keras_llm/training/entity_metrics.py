"""Entity-level precision, recall and F1 for BIO-style tag sequences, as CoNLL's ``conlleval`` counts them.

A tag is ``O`` or ``<prefix>-<TYPE>`` with prefix ``B`` (begin), ``I`` (inside), ``E`` (end)
or ``S`` (single), so IOB1, IOB2 (BIO) and IOBES sequences are all read. The chunk rules are
conlleval's lenient ones (also seqeval's default mode):

- a chunk **starts** at ``B``/``S``; at ``I``/``E`` after ``O``, ``E`` or ``S``; and at any
  non-``O`` tag whose type differs from the previous tag's;
- a chunk **ends** before ``O``, ``B`` or ``S`` when the previous tag was ``B``/``I``; after
  every ``E`` or ``S``; and before a tag of another type.

So ``I-PER I-PER`` (IOB1) is one PER entity, ``B-PER I-LOC`` is two, and ``O I-LOC`` opens a
LOC entity. An entity is counted correct only if type, start and end all match. A tag with
no recognised prefix (``PER``, ``X-PER``) is read like conlleval: its first character is the
prefix and the rest after the first ``-`` the type (so callers should pass well-formed tags).
The test against seqeval 1.2.2 (``tests/fixtures/entity_f1_seqeval.json``) checks these rules.
"""

from collections import Counter


def _split(tag):
    if tag == "O" or not tag:
        return "O", ""
    prefix, rest = tag[0], tag[1:]
    entity_type = rest.split("-", 1)[-1]
    return prefix, entity_type or "_"


def _ends(previous, current):
    (p_prefix, p_type), (c_prefix, c_type) = previous, current
    if p_prefix in ("E", "S"):
        return True
    if p_prefix in ("B", "I") and c_prefix in ("B", "S", "O"):
        return True
    return p_prefix not in ("O", ".") and p_type != c_type


def _starts(previous, current):
    (p_prefix, p_type), (c_prefix, c_type) = previous, current
    if c_prefix in ("B", "S"):
        return True
    if p_prefix in ("E", "S", "O") and c_prefix in ("E", "I"):
        return True
    return c_prefix not in ("O", ".") and p_type != c_type


def extract_entities(tags):
    """The entities of one tag sequence.

    Args:
        tags: list of str, e.g. ``["B-PER", "I-PER", "O", "I-LOC"]``.

    Returns:
        list of ``(type, first, last)`` with inclusive word indices.

    Example:
        >>> extract_entities(["B-PER", "I-PER", "O", "I-LOC"])
        [('PER', 0, 1), ('LOC', 3, 3)]
    """
    entities, start = [], 0
    previous = ("O", "")
    for index, tag in enumerate([*tags, "O"]):  # the sentinel closes an entity at the end
        current = _split(tag)
        if _ends(previous, current):
            entities.append((previous[1], start, index - 1))
        if _starts(previous, current):
            start = index
        previous = current
    return entities


def _prf(correct, predicted, gold):
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": gold}


def entity_scores(gold_sequences, predicted_sequences):
    """Micro-averaged and per-type entity precision/recall/F1 over sentences.

    Args:
        gold_sequences: list of tag lists (one per sentence).
        predicted_sequences: list of tag lists of the same lengths.

    Returns:
        dict ``{"precision", "recall", "f1", "support", "per_type": {type: {...}}}``; a score
        whose denominator is 0 is 0.0 (seqeval's ``zero_division=0``).

    Example:
        >>> entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])["f1"]
        0.0
    """
    if len(gold_sequences) != len(predicted_sequences):
        raise ValueError("gold and predicted sequences differ in number")
    gold, predicted = set(), set()
    for number, (gold_tags, predicted_tags) in enumerate(zip(gold_sequences, predicted_sequences)):
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(f"sentence {number}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted")
        gold.update((number, *entity) for entity in extract_entities(gold_tags))
        predicted.update((number, *entity) for entity in extract_entities(predicted_tags))
    correct = gold & predicted
    by_type = lambda entities: Counter(entity[1] for entity in entities)  # noqa: E731
    n_gold, n_predicted, n_correct = by_type(gold), by_type(predicted), by_type(correct)
    per_type = {entity_type: _prf(n_correct[entity_type], n_predicted[entity_type], n_gold[entity_type])
                for entity_type in sorted(set(n_gold) | set(n_predicted))}
    return {**_prf(len(correct), len(predicted), len(gold)), "per_type": per_type}
