"""The sliding-window word-overlap baseline of the SQuAD paper, on any SQuAD v1.1 file, scored with EM/F1.

Rajpurkar et al. 2016 (section 5.1) pick an answer among candidate spans in two steps: keep the
candidates whose sentence (the candidate itself left out) shares the most unigrams + bigrams with
the question; among those, take the one with the best sliding-window score of Richardson et al.
2013 (MCTest): a window of |S| passage tokens, S = the question's and the candidate's words, scores
the sum of ``log(1 + 1 / count_in_passage(w))`` over its tokens in S; a candidate scores its best
window. The paper reports F1 20.2 (EM 13.2) on SQuAD dev for this baseline.

Ours differs in one documented way: the paper's candidates are the constituents of a parse tree
(no parser is a dependency here), ours are all spans of 1 to ``--max-span`` tokens within a
sentence that start and end with a word that is neither punctuation nor a stop word and that
contain no question word. Tokens are ``\\w+`` runs and single other characters, lower-cased for
matching; the answer is the original text between the span's first and last character.

    .venv/bin/python benchmarks/squad_baselines.py /tmp/squad/squad-heldout-10.json [--json out.json]
"""

import argparse
import collections
import json
import math
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from keras_llm.data.squad import read_squad  # noqa: E402
from keras_llm.evaluation.squad import squad_scores  # noqa: E402

TOKEN = re.compile(r"\w+|[^\w\s]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
STOP_WORDS = frozenset(
    "a an the of in on at to for by with from and or but is are was were be been being as that this these those "
    "it its which who whom whose what when where why how do does did has have had not no".split())


def tokens_with_spans(text, base=0):
    return [(m.group().lower(), base + m.start(), base + m.end()) for m in TOKEN.finditer(text)]


def sentences(context):
    """``[(tokens with spans)]`` per sentence (split after . ! ? and whitespace)."""
    result, start = [], 0
    for match in list(SENTENCE_END.finditer(context)) + [None]:
        end = match.start() if match else len(context)
        result.append(tokens_with_spans(context[start:end], start))
        start = match.end() if match else len(context)
    return [s for s in result if s]


def _is_content(word):
    return word[0].isalnum() and word not in STOP_WORDS


def candidates(sentence, question_words, max_span):
    """``(first, last)`` token indices of the candidate spans of one sentence."""
    for first in range(len(sentence)):
        if not _is_content(sentence[first][0]):
            continue
        for last in range(first, min(first + max_span, len(sentence))):
            if sentence[last][0] in question_words:
                break
            if _is_content(sentence[last][0]):
                yield first, last


def _grams(words):
    return set(words) | set(zip(words, words[1:]))


def sliding_window_score(passage, weights, target):
    """Richardson et al.'s score: the best window of len(target) passage tokens."""
    size, best = len(target), 0.0
    for start in range(max(1, len(passage) - size + 1)):
        best = max(best, sum(weights[w] for w in passage[start:start + size] if w in target))
    return best


def answer(question, context, max_span=5):
    """The baseline's answer text for one question."""
    question_words = [w for w, _, _ in tokens_with_spans(question) if w[0].isalnum()]
    question_set, question_grams = set(question_words), _grams(question_words)
    parts = sentences(context)
    passage = [w for sentence in parts for w, _, _ in sentence]
    counts = collections.Counter(passage)
    weights = {w: math.log(1 + 1 / c) for w, c in counts.items()}
    best_overlap, tied = -1, []
    for sentence in parts:
        words = [w for w, _, _ in sentence]
        for first, last in candidates(sentence, question_set, max_span):
            rest = words[:first] + words[last + 1:]
            overlap = len(_grams(rest) & question_grams)
            if overlap > best_overlap:
                best_overlap, tied = overlap, []
            if overlap == best_overlap:
                tied.append((sentence, first, last))
    if not tied:
        return ""
    scored = [(sliding_window_score(passage, weights, question_set | {w for w, _, _ in s[first:last + 1]}),
               -index, s, first, last) for index, (s, first, last) in enumerate(tied)]
    _, _, sentence, first, last = max(scored)
    return context[sentence[first][1]:sentence[last][2]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("squad_file")
    parser.add_argument("--max-span", type=int, default=5, help="longest candidate, in tokens")
    parser.add_argument("--json", help="also write the scores here")
    args = parser.parse_args()
    started = time.perf_counter()
    examples = read_squad(args.squad_file)
    predictions = {e.id: answer(e.question, e.context, args.max_span) for e in examples}
    scores = squad_scores(predictions, {e.id: [text for text, _ in e.answers] for e in examples})
    scores.update(seconds=round(time.perf_counter() - started, 1), file=os.path.abspath(args.squad_file),
                  max_span=args.max_span)
    print(f"sliding-window baseline on {args.squad_file}: EM {scores['exact_match']:.2f}, F1 {scores['f1']:.2f} "
          f"({scores['questions']} questions, {scores['seconds']} s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(scores, handle, indent=2)


if __name__ == "__main__":
    main()
