"""English-to-Spanish translation with a sequence-to-sequence Transformer (Functional API).

What it teaches, in the order of the classic Keras example:

1. Sentence pairs (``English<TAB>Spanish``) and one WordPiece vocabulary per language, learned
   from the training pairs only. The decoder reads ``[CLS] + Spanish`` and learns to predict
   ``Spanish + [SEP]`` one position ahead (teacher forcing); id 0 is padding on both sides.
2. The model: ``build_seq2seq_transformer`` wires our own layers (token + position embeddings,
   encoder blocks, decoder blocks with causal self-attention and cross-attention) into one
   ``keras.Model`` with two inputs, ``encoder_token_ids`` and ``decoder_token_ids``.
3. Plain Keras training: ``compile`` with Adam, a cross-entropy that ignores padding and a
   padding-aware accuracy, ``fit(..., validation_split=0.1)`` on NumPy arrays, ``evaluate``
   on a held-out test split that neither the vocabularies nor training ever saw.
4. Decoding new sentences token by token: ``keras_llm.generation.translate`` runs the encoder
   once and the decoder with a key/value cache inside one ``tf.while_loop`` (greedy here;
   ``--num-beams 4`` for beam search), and sacrebleu scores the test translations.

Data: data/spa_eng/spa.txt (Tatoeba via manythings.org/anki, CC-BY 2.0; see its README).

Run it:

    python examples/transformer_translation.py                 # 30,000 pairs, 5 epochs
    python examples/transformer_translation.py --quick         # smoke test, seconds

The default run took 780 s on 2026-11-24 on 2 CPU cores shared with other jobs (load average ~8)
and reached test BLEU 19.1 (greedy, 600 pairs; log in
benchmarks/results/translator_example_transformer_translation_2026-11-24.log). The test split is a
random 2 % of the pairs, as in the classic example, so a test English sentence may also occur in
training with another translation; benchmarks/translator_quality.py holds out whole English groups.
"""

import argparse
import time
from pathlib import Path

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras
import numpy as np
import sacrebleu
import tensorflow as tf

from keras_llm.data.pairs import filter_by_length, read_pairs, start_end_ids, train_pair_tokenizers
from keras_llm.generation import DecodingOptions, translate
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer

DATA = Path(__file__).resolve().parents[1] / "data" / "spa_eng" / "spa.txt"
SPLIT_SEED = 20241124
TEST_FRACTION = 0.02


def masked_accuracy(y_true, y_pred):
    """Token accuracy over real target positions (label 0 is padding)."""
    y_true = tf.cast(y_true, tf.int32)
    correct = tf.cast(tf.equal(y_true, tf.argmax(y_pred, axis=-1, output_type=tf.int32)), tf.float32)
    real = tf.cast(y_true > 0, tf.float32)
    return tf.reduce_sum(correct * real) / tf.maximum(tf.reduce_sum(real), 1.0)


def load_and_split(path, num_pairs):
    """Shuffle the pairs once (fixed seed); ``(train, test)`` lists of ``(english, spanish)``."""
    sources, targets = read_pairs(path)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(sources))[:num_pairs]
    pairs = [(sources[i], targets[i]) for i in order]
    num_test = max(int(len(pairs) * TEST_FRACTION), 8)
    return pairs[num_test:], pairs[:num_test]


def to_arrays(sources, targets, source_tokenizer, target_tokenizer, max_source_length, max_target_length):
    """``({"encoder_token_ids", "decoder_token_ids"}, labels)`` as int32 NumPy arrays, 0-padded."""
    start, end = start_end_ids(target_tokenizer)
    source = source_tokenizer.tokenize(tf.constant(sources))[:, :max_source_length]
    target = target_tokenizer.tokenize(tf.constant(targets))[:, :max_target_length - 1]
    rows = target.nrows()
    decoder = tf.concat([tf.fill([rows, 1], start), target], axis=1)
    labels = tf.concat([target, tf.fill([rows, 1], end)], axis=1)
    inputs = {"encoder_token_ids": source.to_tensor(0, shape=[None, max_source_length]).numpy(),
              "decoder_token_ids": decoder.to_tensor(0, shape=[None, max_target_length]).numpy()}
    return inputs, labels.to_tensor(0, shape=[None, max_target_length]).numpy()


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DATA), help="English<TAB>Spanish pairs (default: %(default)s)")
    parser.add_argument("--num-pairs", type=int, default=30000, help="pairs used, after shuffling")
    parser.add_argument("--vocabulary-size", type=int, default=8000, help="WordPiece vocabulary per language")
    parser.add_argument("--max-length", type=int, default=20, help="tokens per side (the decoder's with [CLS])")
    parser.add_argument("--hidden-dim", type=int, default=128)
    parser.add_argument("--intermediate-dim", type=int, default=512)
    parser.add_argument("--num-layers", type=int, default=2, help="encoder and decoder blocks each")
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--num-beams", type=int, default=1, help="1 = greedy decoding")
    parser.add_argument("--examples", type=int, default=5, help="test sentences to print")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--jit", action="store_true",
                        help="train with XLA (on our shared 2-core CPU a train step took 2x longer with it)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 1,200 pairs, a tiny model, 1 epoch, fit run eagerly (tracing costs more)")
    parser.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity (0, 1, 2)")
    args = parser.parse_args(argv)
    if args.quick:
        args.num_pairs, args.vocabulary_size, args.max_length = 1200, 400, 16
        args.hidden_dim, args.intermediate_dim, args.num_layers, args.num_heads = 32, 64, 1, 2
        args.epochs, args.examples = 1, 3
    return args


def main(argv=None):
    """Train, evaluate, translate; returns a dict of what it printed."""
    args = parse_args(argv)
    started = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    train_pairs, test_pairs = load_and_split(args.data, args.num_pairs)
    english, spanish = [list(side) for side in zip(*train_pairs)]
    source_tokenizer, target_tokenizer = train_pair_tokenizers(english, spanish, args.vocabulary_size,
                                                               args.vocabulary_size)
    english, spanish, dropped = filter_by_length(english, spanish, source_tokenizer, target_tokenizer,
                                                 args.max_length, args.max_length)
    print(f"{len(english)} training pairs ({dropped} longer than {args.max_length} tokens dropped), "
          f"{len(test_pairs)} test pairs; vocabularies: English {source_tokenizer.vocab_size}, "
          f"Spanish {target_tokenizer.vocab_size} word pieces")
    x, y = to_arrays(english, spanish, source_tokenizer, target_tokenizer, args.max_length, args.max_length)

    model = build_seq2seq_transformer(Seq2SeqConfig(
        source_tokenizer.vocab_size, target_tokenizer.vocab_size, num_encoder_layers=args.num_layers,
        num_decoder_layers=args.num_layers, num_heads=args.num_heads, hidden_dim=args.hidden_dim,
        intermediate_dim=args.intermediate_dim, max_source_length=args.max_length,
        max_target_length=args.max_length, dropout=args.dropout))
    model.summary(print_fn=lambda line, **_: None)  # builds; count_params below is what we print
    print(f"{model.count_params() / 1e6:.2f}M parameters")
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
                  metrics=[masked_accuracy], jit_compile=args.jit, run_eagerly=args.quick)
    history = model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, validation_split=0.1,
                        verbose=args.verbose)

    test_english, test_spanish = [list(side) for side in zip(*test_pairs)]
    test_x, test_y = to_arrays(test_english, test_spanish, source_tokenizer, target_tokenizer, args.max_length,
                               args.max_length)
    test_loss, test_accuracy = model.evaluate(test_x, test_y, batch_size=args.batch_size, verbose=0)
    print(f"test split: loss {test_loss:.3f}, token accuracy {test_accuracy:.3f}")

    translations = translate(model, source_tokenizer, target_tokenizer, test_english,
                             DecodingOptions(max_new_tokens=args.max_length - 1, num_beams=args.num_beams))
    # Scored against the raw references: the model writes lowercased, spaced-out word pieces.
    bleu = sacrebleu.corpus_bleu(translations, [[text.lower() for text in test_spanish]])
    print(f"test BLEU {bleu.score:.1f} ({len(translations)} sentences, sacrebleu 13a, lowercased references)")
    examples = list(zip(test_english, translations, test_spanish))[:args.examples]
    for source, output, reference in examples:
        print(f"  {source}\n    → {output}\n    (reference: {reference})")
    elapsed = time.perf_counter() - started
    print(f"wall time {elapsed:.0f} s")
    return {"history": history.history, "test_loss": test_loss, "test_accuracy": test_accuracy,
            "bleu": bleu.score, "examples": examples, "seconds": elapsed}


if __name__ == "__main__":
    main()
