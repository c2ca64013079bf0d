"""Reference points for the summarization / title-generation recipes, computed without training:

- **scitldr**: the first sentence of each test abstract as its TLDR ("lead-1"), scored like
  `keras-llm evaluate` scores a run: ROUGE-1/2/L F1 (rouge-score, Porter stemming), each the best
  over the paper's 2-4 reference TLDRs, averaged over the 618 test papers.
- **csl-title**: the first ``--lead-chars`` characters of each CSL ``ts`` test abstract as its title
  (the test titles average ~19 characters), ROUGE on characters (rouge-score's own tokenizer drops
  Chinese) and sacrebleu BLEU with its ``zh`` tokenizer, as the ``title-csl`` recipe scores.

    .venv/bin/python benchmarks/summarization_baselines.py --output benchmarks/results/summarization_baselines.json
"""

import argparse
import json
import os
import sys
from pathlib import Path

from keras_llm.data.pairs import read_pairs
from keras_llm.training.rouge import rouge_scores
from keras_llm.training.translation_metrics import corpus_bleu

DATA = Path(__file__).resolve().parents[1] / "data"


def first_sentence_scores(test_file):
    """ROUGE of each abstract's first sentence against its references; ``(scores, count)``."""
    with open(test_file, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    leads = [record["source"][0] for record in records]
    references = [record["target"] for record in records]
    return rouge_scores(leads, references), len(records)


def lead_characters_scores(test_file, characters):
    """Character ROUGE and zh BLEU of each abstract's first ``characters`` characters as its title."""
    abstracts, titles = read_pairs(test_file, source_column=1, target_column=2)
    leads = [abstract[:characters] for abstract in abstracts]
    return {**rouge_scores(leads, titles, tokenize="chars"), "bleu_zh": corpus_bleu(leads, titles, tokenize="zh")}, \
        len(abstracts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scitldr-test", default=str(DATA / "scitldr" / "test.jsonl"))
    parser.add_argument("--csl-test", default=str(DATA / "csl" / "ts" / "test.tsv"))
    parser.add_argument("--lead-chars", type=int, default=20)
    parser.add_argument("--output", help="write the results here as JSON")
    args = parser.parse_args(argv)
    scitldr, papers = first_sentence_scores(args.scitldr_test)
    csl, abstracts = lead_characters_scores(args.csl_test, args.lead_chars)
    results = {"scitldr_first_sentence": {"papers": papers, **scitldr},
               f"csl_first_{args.lead_chars}_characters": {"abstracts": abstracts, **csl},
               "command": " ".join([os.path.basename(sys.argv[0]), *(argv or sys.argv[1:])])}
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
