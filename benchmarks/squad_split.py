"""Split the SQuAD v1.1 dev file by article: the first N articles to train on, the rest held out.

No SQuAD training file is available to this project (../shared/data/README.md), so the reader is
trained on the first 38 of dev's 48 articles and scored on the last 10. Whole articles go to one
side, so no paragraph (and no topic) is seen in training and in evaluation. Scores on this split
are NOT comparable to published SQuAD v1.1 dev results (other training data, other questions).
The output files are derived from SQuAD (CC BY-SA 4.0): they stay CC BY-SA 4.0 and are not committed.

    .venv/bin/python benchmarks/squad_split.py ../shared/data/squad/dev-v1.1.json --out /tmp/squad --train-articles 38
    -> /tmp/squad/squad-train-38.json, /tmp/squad/squad-heldout-10.json
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from keras_llm.data.squad import count_articles, select_articles  # noqa: E402


def split(dev_file, out_dir, train_articles):
    """Write the two files; returns their paths ``(train, held_out)``."""
    total = count_articles(dev_file)
    if not 0 < train_articles < total:
        raise SystemExit(f"--train-articles must be between 1 and {total - 1} ({dev_file} has {total} articles)")
    os.makedirs(out_dir, exist_ok=True)
    paths = (os.path.join(out_dir, f"squad-train-{train_articles}.json"),
             os.path.join(out_dir, f"squad-heldout-{total - train_articles}.json"))
    for path, articles in zip(paths, (slice(0, train_articles), slice(train_articles, None))):
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(select_articles(dev_file, articles), handle)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dev_file")
    parser.add_argument("--out", required=True, help="folder for the two files")
    parser.add_argument("--train-articles", type=int, default=38)
    args = parser.parse_args()
    for path in split(args.dev_file, args.out, args.train_articles):
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)["data"]
        questions = sum(len(p["qas"]) for article in data for p in article["paragraphs"])
        print(f"{path}: {len(data)} articles, {questions} questions")


if __name__ == "__main__":
    main()
