"""The `classify-csl` baseline: character n-gram TF-IDF + logistic regression on CSL titles (13 classes).

Same split as the recipe's evaluation: fit on ``cls_ctg/train.tsv`` (8,000 titles), score
``cls_ctg/test.tsv`` (1,000): accuracy and macro-F1 (every class weighs the same; the classes are
unbalanced, 工学 is 44% of train). Characters, not words: Chinese has no spaces, and character
1-3-grams need no segmenter. scikit-learn (the `bench` extra, never imported by keras_llm) does the
work: TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True) and
LogisticRegression(C=10, max_iter=2000).

    .venv/bin/python benchmarks/csl_tfidf_baseline.py --output benchmarks/results/csl_tfidf_baseline.json
"""

import argparse
import csv
import json
import os
import resource
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "csl" / "cls_ctg"


def read_titles(path):
    """``(titles, categories)`` of a CSL cls_ctg TSV (``to category<TAB>title<TAB>category``)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row[1] for row in rows], [row[2] for row in rows]


def main(argv=None):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", default=str(DATA / "train.tsv"))
    parser.add_argument("--test", default=str(DATA / "test.tsv"))
    parser.add_argument("--c", type=float, default=10.0, help="inverse L2 strength of the logistic regression")
    parser.add_argument("--output", help="write the results here as JSON")
    args = parser.parse_args(argv)
    started, cpu = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    train_texts, train_labels = read_titles(args.train)
    test_texts, test_labels = read_titles(args.test)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
    features = vectorizer.fit_transform(train_texts)
    model = LogisticRegression(C=args.c, max_iter=2000).fit(features, train_labels)
    predicted = model.predict(vectorizer.transform(test_texts))
    used = resource.getrusage(resource.RUSAGE_SELF)
    majority = max(set(train_labels), key=train_labels.count)
    results = {"train": len(train_texts), "test": len(test_texts), "features": len(vectorizer.vocabulary_),
               "accuracy": accuracy_score(test_labels, predicted),
               "macro_f1": f1_score(test_labels, predicted, average="macro"),
               "majority_class_accuracy": test_labels.count(majority) / len(test_labels),
               "wall_seconds": round(time.time() - started, 1),
               "cpu_seconds": round(used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime, 1),
               "command": " ".join([os.path.basename(sys.argv[0]), *(argv or sys.argv[1:])])}
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
