"""N-gram baselines on character-level tiny Shakespeare: fit time and validation perplexity.

Run: .venv/bin/python benchmarks/ngram_shakespeare_char.py
Train = first 90% of the characters, validation = last 10% (nanoGPT's split); ids are positions
in the sorted character set (nanoGPT's 65-character vocabulary).
"""

import time

import numpy as np

from keras_llm.models.ngram import NGramLanguageModel


def main():
    text = open("data/tiny_shakespeare/input.txt", encoding="utf-8").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text], dtype=np.int64)
    cut = int(0.9 * len(ids))
    train, valid = ids[:cut], ids[cut:]
    print("| smoothing | order | fit s | eval s | val nats/char | val perplexity | stored n-grams |")
    print("|---|---|---|---|---|---|---|")
    for smoothing in ("kneser_ney", "add_k"):
        for order in (3, 5):
            start = time.perf_counter()
            model = NGramLanguageModel(order, smoothing=smoothing).fit(train, len(chars))
            fitted = time.perf_counter()
            loss = model.cross_entropy(valid)
            done = time.perf_counter()
            print(f"| {smoothing} | {order} | {fitted - start:.2f} | {done - fitted:.2f} | {loss:.4f} | "
                  f"{np.exp(loss):.3f} | {model.num_parameters:,} |")


if __name__ == "__main__":
    main()
