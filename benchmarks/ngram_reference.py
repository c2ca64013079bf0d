"""Our fixed-discount Kneser–Ney against an independent implementation: NLTK's ``KneserNeyInterpolated``.

NLTK is not a dependency of keras-llm: install it in a separate virtual environment and point
``--nltk-site-packages`` at that environment's ``site-packages`` (NLTK is pure Python; this script is
run by the project's Python, which supplies keras_llm and the tokenizer):

    python -m venv /work/scratch-wordlm/venv && /work/scratch-wordlm/venv/bin/pip install nltk
    PYTHONPATH=. .venv/bin/python benchmarks/ngram_reference.py \\
        --nltk-site-packages /work/scratch-wordlm/venv/lib/python3.11/site-packages

Corpus: tiny Shakespeare (bundled, public domain), word level. The first ``--train-tokens``
tokens train, the next ``--test-tokens`` test. OOV convention: the vocabulary is every token
(WordTokenizer: words, single punctuation marks, line breaks) seen at least ``--min-count`` times in
the training tokens; every other token is the one class ``[UNK]``, which both models see as an
ordinary token (NLTK gets the ids as strings, so its own ``<UNK>`` mapping never triggers). Both
count the same single stream of ids (no sentence padding).

For each order the script compares, on every test token whose full history of ``order - 1`` tokens
lies in the test text:

1. ours (``smoothing="kneser_ney"``, discount D at every order) against NLTK at the same D;
2. ours against NLTK with only its unigram level replaced by ours (``OurBaseKneserNey``):
   if the two agree to rounding, every difference in (1) comes from the unigram level;
3. ours against NLTK on histories one token shorter than the order's (what the first tokens of a
   text have): the two models treat the highest order of such a query differently.

It prints a markdown table: perplexities, the largest relative difference of the per-token
probabilities, and how many tokens NLTK gives probability 0.
"""

import argparse
import os
import sys
import time

import numpy as np

from keras_llm.data.text import read_text
from keras_llm.models import NGramLanguageModel
from keras_llm.runs import bundled_data_dir
from keras_llm.tokenizers import WordTokenizer


def load_nltk(site_packages):
    """Import NLTK's interpolated KN (and its smoothing class) from a separate environment."""
    if site_packages:
        sys.path.append(site_packages)
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.smoothing import KneserNey
    from nltk.util import everygrams

    return KneserNeyInterpolated, KneserNey, everygrams


def our_base_smoothing(kneser_ney_class, discount, vocab_size):
    """NLTK's KneserNey smoothing with our unigram level: discounted continuation counts plus uniform mass.

    NLTK's unigram is N1+(. w) / N1+(. .), undiscounted; ours discounts it like every other level and
    gives the freed mass to the uniform distribution over the vocabulary (``1 / vocab_size``).
    """

    class OurBaseKneserNey(kneser_ney_class):
        def unigram_score(self, word):
            continuation, total = self._continuation_counts(word)
            # Words with a non-zero continuation count: the distinct last words of the bigrams.
            distinct = len({last for context in self.counts[2] for last in self.counts[2][context]})
            return (max(continuation - discount, 0.0) + discount * distinct / vocab_size) / total

    return OurBaseKneserNey


def fit_nltk(model_class, order, discount, tokens, everygrams, smoothing=None):
    """NLTK's interpolated KN of ``order`` on one stream of tokens (every n-gram of orders 1..N, no padding)."""
    lm = model_class(order, discount=discount)
    if smoothing is not None:  # the estimator reads lm.counts, which fit fills in place
        lm.estimator = smoothing(lm.vocab, lm.counts, discount=discount, order=order)
    lm.fit([list(everygrams(tokens, max_len=order))], vocabulary_text=tokens)
    return lm


def nltk_probabilities(lm, tokens, order):
    """P(token_i | the order - 1 tokens before it) for every i >= order - 1."""
    return np.array([lm.score(tokens[i], tokens[i - order + 1:i]) for i in range(order - 1, len(tokens))])


def our_probabilities(lm, ids, order):
    return np.array([np.exp(lm.log_prob(ids[i - order + 1:i], int(ids[i]))) for i in range(order - 1, len(ids))])


def perplexity(probs):
    return float(np.exp(-np.mean(np.log(probs)))) if np.all(probs > 0) else float("inf")


def vocabulary_ids(words, train_count, min_count, with_test):
    """Ids of ``words`` under a vocabulary of the tokens seen ``min_count`` times in the training part
    (or, ``with_test``, in the whole text), ``[UNK]`` (id 0) for the rest; returns ``(ids, vocab_size)``."""
    counts = {}
    for word in words if with_test else words[:train_count]:
        counts[word] = counts.get(word, 0) + 1
    vocabulary = ["[UNK]"] + sorted(w for w, c in counts.items() if c >= min_count and w != "[UNK]")
    index = {word: i for i, word in enumerate(vocabulary)}
    return np.array([index.get(word, 0) for word in words], np.int64), len(vocabulary)


def compare_order(order, discount, train_ids, test_ids, vocab_size, nltk_parts):
    """One table row: ours vs NLTK vs NLTK with our unigram level, at one order."""
    model_class, smoothing_class, everygrams = nltk_parts
    train_tokens, test_tokens = [str(i) for i in train_ids], [str(i) for i in test_ids]
    began = time.perf_counter()
    ours = NGramLanguageModel(order, smoothing="kneser_ney", discount=discount).fit(train_ids, vocab_size)
    p_ours = our_probabilities(ours, test_ids, order)
    ours_seconds = time.perf_counter() - began
    began = time.perf_counter()
    reference = fit_nltk(model_class, order, discount, train_tokens, everygrams)
    p_nltk = nltk_probabilities(reference, test_tokens, order)
    nltk_seconds = time.perf_counter() - began
    hybrid = fit_nltk(model_class, order, discount, train_tokens, everygrams,
                      smoothing=our_base_smoothing(smoothing_class, discount, vocab_size))
    p_hybrid = nltk_probabilities(hybrid, test_tokens, order)
    positive = p_nltk > 0
    diff = np.max(np.abs(p_ours[positive] - p_nltk[positive]) / p_nltk[positive])
    diff_hybrid = np.max(np.abs(p_ours - p_hybrid) / p_hybrid)
    # Histories one token shorter than the order's (as at the start of a text), for every test token.
    short_ours = np.array([np.exp(ours.log_prob(test_ids[i - order + 2:i], int(test_ids[i])))
                           for i in range(order - 1, len(test_ids))])
    short_nltk = np.array([reference.score(test_tokens[i], test_tokens[i - order + 2:i])
                           for i in range(order - 1, len(test_tokens))])
    seen = short_nltk > 0
    diff_short = np.max(np.abs(short_ours[seen] - short_nltk[seen]) / short_nltk[seen])
    return (f"| {order} | {perplexity(p_ours):.2f} | {perplexity(p_nltk):.2f} | {int(np.sum(~positive))} | "
            f"{diff:.2g} | {perplexity(p_hybrid):.2f} | {diff_hybrid:.2g} | "
            f"{diff_short:.2g} | {ours_seconds:.1f} / {nltk_seconds:.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nltk-site-packages", help="site-packages of an environment with nltk installed")
    parser.add_argument("--train-tokens", type=int, default=20_000)
    parser.add_argument("--test-tokens", type=int, default=2_000)
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--discount", type=float, default=0.75)
    parser.add_argument("--orders", default="2,3,5")
    args = parser.parse_args()
    nltk_parts = load_nltk(args.nltk_site_packages)
    import nltk

    text = read_text(os.path.join(bundled_data_dir(), "tiny_shakespeare", "input.txt"))
    # Every token of the text, spelled (a tokenizer whose vocabulary is all of them).
    every_token = WordTokenizer.train(text, min_frequency=1)
    words = [every_token.vocabulary[i] for i in every_token.encode(text)[:args.train_tokens + args.test_tokens]]
    print(f"tiny Shakespeare, word level: {args.train_tokens:,} training / {args.test_tokens:,} test tokens; "
          f"min count {args.min_count}; discount {args.discount} at every order; nltk {nltk.__version__}")
    for with_test in (False, True):
        ids, vocab_size = vocabulary_ids(words, args.train_tokens, args.min_count, with_test)
        train_ids, test_ids = ids[:args.train_tokens], ids[args.train_tokens:]
        unseen = len(set(range(vocab_size)) - set(train_ids.tolist()))
        print(f"\nvocabulary from the {'training and test' if with_test else 'training'} tokens: {vocab_size:,} "
              f"entries, {unseen:,} of them never in the training tokens; test tokens that are [UNK]: "
              f"{np.mean(test_ids == 0):.2%}")
        print("| order | ours: perplexity | NLTK: perplexity | NLTK: tokens at p = 0 | max rel. diff (tokens NLTK "
              "gives p > 0) | NLTK + our unigram level: perplexity | max rel. diff ours vs that "
              "| max rel. diff, histories of order - 2 tokens | seconds (ours / NLTK) |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for order in [int(order) for order in args.orders.split(",")]:
            print(compare_order(order, args.discount, train_ids, test_ids, vocab_size, nltk_parts), flush=True)


if __name__ == "__main__":
    main()
