"""Write tests/fixtures/entity_f1_seqeval.json: seqeval's entity scores on random and edge-case tag sequences.

Run with the reference environment (seqeval is installed only there, never in the library's):

    tools/.venv-ref/bin/python tools/make_entity_f1_fixture.py

Each case is a list of sentences (gold and predicted tag lists). For every case the fixture
stores seqeval's entities of each gold sentence and its micro precision/recall/F1 and
per-type report (default, conlleval-like mode; ``zero_division=0``). Cases cover IOB2 (BIO),
IOB1 (I- starting entities, B- only between same-type neighbours), IOBES, type changes inside
entities, entities at the sentence ends, all-O sentences and sentences with no predictions.
"""

import json
import os
import random
import warnings

import seqeval
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

TYPES = ("PER", "LOC", "MISC")
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "entity_f1_seqeval.json")


def random_tags(rng, length, prefixes):
    return [rng.choice(["O"] * 2 + [f"{p}-{t}" for p in prefixes for t in TYPES]) for _ in range(length)]


def noisy_copy(rng, tags, prefixes):
    return [rng.choice(random_tags(rng, 1, prefixes)) if rng.random() < 0.3 else tag for tag in tags]


def edge_cases():
    return [
        [(["B-PER", "I-PER", "O", "I-LOC"], ["B-PER", "I-PER", "O", "B-LOC"])],
        [(["I-PER", "I-PER", "B-PER", "I-PER"], ["I-PER", "I-PER", "I-PER", "I-PER"])],  # IOB1
        [(["B-PER", "I-LOC", "I-LOC"], ["B-PER", "B-LOC", "I-LOC"])],
        [(["O", "O", "O"], ["O", "O", "O"])],
        [(["O", "O"], ["B-MISC", "O"])],
        [(["B-LOC"], ["O"])],
        [(["S-PER", "B-LOC", "E-LOC", "S-LOC"], ["S-PER", "B-LOC", "I-LOC", "E-LOC"])],
        [(["E-PER", "E-PER", "I-PER"], ["B-PER", "E-PER", "S-PER"])],
        [(["B-PER", "I-PER"], ["B-PER", "I-PER"]), (["I-PER"], ["I-PER"])],  # entity at sentence edges
        [(["B-PER", "I-PER", "I-PER", "I-PER"], ["B-PER", "I-PER", "O", "I-PER"])],
        [(["I-MISC", "B-MISC", "O", "I-MISC", "I-LOC"], ["B-MISC", "I-MISC", "I-MISC", "I-MISC", "I-LOC"])],
    ]


def random_cases(rng, count):
    cases = []
    for number in range(count):
        prefixes = (("B", "I"), ("I",) * 3 + ("B",), ("B", "I", "E", "S"))[number % 3]
        sentences = []
        for _ in range(rng.randint(1, 4)):
            gold = random_tags(rng, rng.randint(1, 8), prefixes)
            sentences.append((gold, noisy_copy(rng, gold, prefixes)))
        cases.append(sentences)
    return cases


def scores(case):
    gold = [list(g) for g, _ in case]
    predicted = [list(p) for _, p in case]
    report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    per_type = {name: [round(v, 12) for v in (row["precision"], row["recall"], row["f1-score"])] + [int(row["support"])]
                for name, row in report.items() if not name.endswith(" avg")}
    return {
        "gold": gold, "predicted": predicted,
        "gold_entities": [sorted([t, s, e] for t, s, e in get_entities(g)) for g in gold],
        "precision": precision_score(gold, predicted, zero_division=0),
        "recall": recall_score(gold, predicted, zero_division=0),
        "f1": f1_score(gold, predicted, zero_division=0),
        "per_type": per_type,
    }


def main():
    warnings.simplefilter("ignore")
    rng = random.Random(20261124)
    cases = [scores(case) for case in edge_cases() + random_cases(rng, 200)]
    with open(OUT, "w", encoding="utf-8") as handle:
        json.dump({"seqeval": seqeval.__version__ if hasattr(seqeval, "__version__") else "1.2.2",
                   "mode": "default (conlleval)", "cases": cases}, handle, separators=(",", ":"))
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
