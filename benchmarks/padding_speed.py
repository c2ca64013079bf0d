"""Training speed of a BERT classifier on short texts: batches padded to their longest text vs to max_length.

The bundled UCI sentiment sentences (3,000 one-line reviews, ~16 word pieces on average) are
tokenized with a WordPiece vocabulary trained on them; a recipe-sized BERT classifier
(bert-sentiment's model_config) trains with ``max_length`` 128 on (a) keras-llm's
``text_classification_dataset`` (each batch cut to its longest text, rounded up to 16) and (b) the
same batches padded to 128. The two alternate in one process (``--rounds``), each round timing
``--steps`` optimizer steps after a warm-up pass (compilation excluded); the ratios of the median
and of the fastest rounds are printed.

    .venv/bin/python benchmarks/padding_speed.py --steps 40 --rounds 3
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # before keras is imported
import keras  # noqa: E402, I001
import tensorflow as tf  # noqa: E402

import keras_llm  # noqa: F401  (selects the TensorFlow backend)
from keras_llm.data.classification import text_classification_dataset
from keras_llm.data.tables import read_labeled_table
from keras_llm.models import BertConfig
from keras_llm.models.bert_classifier import build_bert_classifier
from keras_llm.runs import bundled_data_dir, load_recipe
from keras_llm.tokenizers import WordPieceTokenizer


def _data():
    texts, labels = [], []
    for path in load_recipe("bert-sentiment")["data"]["files"]:
        read = read_labeled_table(os.path.join(bundled_data_dir(), path), "sentence", "label",
                                  column_names=["sentence", "label"])
        texts += list(read[0])
        labels += [int(label) for label in read[1]]
    return texts, labels


def _full_padding(tokenizer, texts, labels, max_length, batch_size):
    data = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(batch_size)
    return data.map(lambda t, y: (tokenizer.encode_batch(t, max_length=max_length), y)).prefetch(tf.data.AUTOTUNE)


def _time_steps(model, data, steps):
    model.fit(data, epochs=1, verbose=0)  # warm-up: one pass traces (and compiles) every batch width there is
    began = time.perf_counter()
    model.fit(data.repeat(), steps_per_epoch=steps, epochs=1, verbose=0)
    return (time.perf_counter() - began) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    texts, labels = _data()
    tokenizer = WordPieceTokenizer.train(texts, vocab_size=4000)
    recipe = load_recipe("bert-sentiment")
    config = {**recipe["model_config"], "vocab_size": len(tokenizer.vocabulary), "max_length": args.max_length}
    config = {key: value for key, value in config.items() if key in BertConfig.__dataclass_fields__}
    pieces = tokenizer.encode_batch(texts, max_length=args.max_length)["padding_mask"].numpy().sum(axis=1)
    print(f"{len(texts)} texts, mean {statistics.mean(pieces):.1f} pieces (max_length {args.max_length}), "
          f"batch {args.batch_size}, model {config}")
    datasets = {"longest in batch": text_classification_dataset(tokenizer, texts, labels, args.max_length,
                                                               args.batch_size),
                f"padded to {args.max_length}": _full_padding(tokenizer, texts, labels, args.max_length,
                                                              args.batch_size)}
    times = {name: [] for name in datasets}
    for round_index in range(args.rounds):
        for name, data in datasets.items():  # alternate, so load changes hit both alike
            keras.utils.set_random_seed(round_index)
            model = build_bert_classifier(BertConfig(**config), 2)
            model.compile(optimizer=keras.optimizers.Adam(1e-4),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            times[name].append(_time_steps(model, data, args.steps))
            print(f"round {round_index + 1} {name}: {1000 * times[name][-1]:.1f} ms/step", flush=True)
    # On a shared machine the fastest round is the least disturbed one; both are printed.
    for summary in (statistics.median, min):
        values = {name: summary(rounds) for name, rounds in times.items()}
        short, full = values.values()
        shown = ", ".join(f"{name} {1000 * value:.1f} ms/step" for name, value in values.items())
        print(f"{summary.__name__}: {shown}; speed-up {full / short:.2f}x")


if __name__ == "__main__":
    main()
