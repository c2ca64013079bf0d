"""Word-level N-gram perplexity by order and smoothing: modified Kneser–Ney vs one fixed discount vs add-k.

Corpora (bundled): ``shakespeare`` — tiny Shakespeare, first 90% of the characters train and the
last 10% validate (the split ``keras-llm compare`` uses); ``ewt`` — the UD English EWT sentences,
train.tsv trains and the en_ewt-ud-dev.conllu sentences validate (one sentence per line).

OOV convention: the vocabulary is every token seen at least ``--min-count`` times in the
training text (WordTokenizer: words, single punctuation marks and newlines), everything else is
one ``[UNK]`` token that is predicted like any other (so perplexities are comparable only at the
same vocabulary). Perplexity is over every validation token, each from its previous N-1 tokens.

    .venv/bin/python benchmarks/ngram_word_level.py --corpus shakespeare
    .venv/bin/python benchmarks/ngram_word_level.py --corpus ewt
"""

import argparse
import os
import time

import numpy as np

from keras_llm.data.conll import read_conll
from keras_llm.data.text import read_text
from keras_llm.models import NGramLanguageModel
from keras_llm.runs import bundled_data_dir
from keras_llm.tokenizers import WordTokenizer

SMOOTHINGS = {"modified Kneser-Ney": dict(smoothing="modified_kneser_ney"),
              "Kneser-Ney, D = 0.75": dict(smoothing="kneser_ney", discount=0.75),
              "add-k, k = 0.01": dict(smoothing="add_k", k=0.01)}


def _texts(corpus):
    data = bundled_data_dir()
    if corpus == "shakespeare":
        text = read_text(os.path.join(data, "tiny_shakespeare", "input.txt"))
        cut = int(len(text) * 0.9)
        return text[:cut], text[cut:]
    ewt = os.path.join(data, "ud_english_ewt")
    train = "\n".join(" ".join(s.words) for s in read_conll(os.path.join(ewt, "train.tsv")))
    valid = "\n".join(" ".join(s.words) for s in read_conll(os.path.join(ewt, "en_ewt-ud-dev.conllu")))
    return train + "\n", valid + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", choices=["shakespeare", "ewt"], default="shakespeare")
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--orders", default="1,2,3,4,5")
    args = parser.parse_args()
    train_text, valid_text = _texts(args.corpus)
    tokenizer = WordTokenizer.train(train_text, min_frequency=args.min_count)
    train_ids = np.asarray(tokenizer.encode(train_text), np.int64)
    valid_ids = np.asarray(tokenizer.encode(valid_text), np.int64)
    unknown = float(np.mean(valid_ids == tokenizer.vocabulary.index("[UNK]")))
    print(f"corpus {args.corpus}: {len(train_ids):,} training tokens, {len(valid_ids):,} validation tokens, "
          f"vocabulary {tokenizer.vocab_size:,} (min count {args.min_count}), validation OOV rate {unknown:.2%}")
    orders = [int(order) for order in args.orders.split(",")]
    print("| smoothing | " + " | ".join(f"order {order}" for order in orders) + " |")
    print("|---|" + "---:|" * len(orders))
    for name, options in SMOOTHINGS.items():
        cells = []
        for order in orders:
            began = time.perf_counter()
            lm = NGramLanguageModel(order, **options).fit(train_ids, tokenizer.vocab_size)
            cells.append(f"{lm.perplexity(valid_ids):.1f}")
            print(f"  ({name}, order {order}: {time.perf_counter() - began:.1f} s)", flush=True)
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
