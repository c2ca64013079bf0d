"""English-to-Chinese translation: the CJK path end to end (tokens, training, decoding, BLEU).

What it shows:

1. Chinese has no spaces between words. The target WordPiece tokenizer (BERT's rules, as in
   ``keras_llm.data.pairs``) puts every CJK ideograph in a token of its own, so the vocabulary
   is a character inventory (a few thousand ideographs plus punctuation) and nothing is lost to
   a word segmenter. Its ``detokenize`` joins ideographs without spaces: "我 爱 你" → "我爱你".
2. BLEU on Chinese needs a tokenizer that splits ideographs: sacrebleu's ``zh`` tokenizer (each
   CJK character is a token, other text goes through 13a). With the default 13a a whole Chinese
   sentence would be one "word" and BLEU would be near 0 for any imperfect translation. chrF
   (character n-grams) needs no tokenizer at all.
3. The same encoder–decoder and training recipe as English → Spanish
   (``compile_translator``: AdamW, warm-up + cosine decay, label smoothing; ``model.fit`` on
   a ``tf.data`` pipeline), decoded with a key/value cache, greedy and with beam search.

Data: data/cmn_eng/cmn.txt (26,388 Tatoeba pairs, English<TAB>Chinese<TAB>attribution; CC-BY 2.0,
www.manythings.org/anki and tatoeba.org). The test pairs are whole groups of English sentences
held out by a seeded shuffle; the vocabularies are learned from the training pairs only.

Run it:

    python examples/translation_english_chinese.py --train-minutes 6     # the recorded run, < 8 min
    python examples/translation_english_chinese.py --quick               # smoke test, seconds
"""

import argparse
import random
import time
from pathlib import Path

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras

from keras_llm.data.pairs import filter_by_length, pairs_dataset, read_pairs, train_pair_tokenizers
from keras_llm.generation import DecodingOptions, translate
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer
from keras_llm.training.callbacks import TimeLimit
from keras_llm.training.translation_metrics import corpus_bleu, corpus_chrf
from keras_llm.training.translator import TranslatorTrainingConfig, compile_translator

DATA = Path(__file__).resolve().parents[1] / "data" / "cmn_eng" / "cmn.txt"
SPLIT_SEED = 20241124


def split_by_english(sources, targets, num_test, seed=SPLIT_SEED):
    """``(train, test)`` pairs; the test set takes whole English groups (all their translations)."""
    groups = {}
    for index, source in enumerate(sources):
        groups.setdefault(source, []).append(index)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    test, train = [], []
    for key in keys:
        (test if len(test) + len(groups[key]) <= num_test else train).extend(groups[key])
    pick = lambda rows: ([sources[i] for i in sorted(rows)], [targets[i] for i in sorted(rows)])  # noqa: E731
    return pick(train), pick(test)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--test-pairs", type=int, default=500)
    parser.add_argument("--max-length", type=int, default=24, help="tokens per side (a Chinese token = a character)")
    parser.add_argument("--source-vocabulary-size", type=int, default=6000)
    parser.add_argument("--target-vocabulary-size", type=int, default=4000, help="mostly single ideographs")
    parser.add_argument("--hidden-dim", type=int, default=128)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2500, help="length of the learning-rate schedule")
    parser.add_argument("--train-minutes", type=float, default=6.0, help="stop training after this wall time")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-beams", type=int, default=4)
    parser.add_argument("--examples", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="smoke test: 1,500 pairs, a tiny model, 12 steps")
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args(argv)
    if args.quick:
        args.test_pairs, args.max_length, args.source_vocabulary_size, args.target_vocabulary_size = 24, 16, 300, 600
        args.hidden_dim, args.num_layers, args.steps, args.examples = 32, 1, 12, 3
    return args


def main(argv=None):
    """Train, decode the test split, score it; returns a dict of what it printed."""
    args = parse_args(argv)
    started = time.perf_counter()
    sources, targets = read_pairs(args.data)  # column 2 (attribution) is ignored
    if args.quick:
        sources, targets = sources[:1500], targets[:1500]  # the file starts with the shortest pairs
    train, test = split_by_english(sources, targets, args.test_pairs)
    source_tokenizer, target_tokenizer = train_pair_tokenizers(*train, args.source_vocabulary_size,
                                                               args.target_vocabulary_size)
    *train, dropped = filter_by_length(*train, source_tokenizer, target_tokenizer, args.max_length, args.max_length)
    print(f"{len(train[0])} training pairs ({dropped} too long), {len(test[0])} test pairs; vocabularies: "
          f"English {source_tokenizer.vocab_size}, Chinese {target_tokenizer.vocab_size} tokens")
    print("a Chinese sentence as target tokens:",
          [target_tokenizer.vocabulary[i] for i in target_tokenizer.encode(train[1][-1])])

    config = TranslatorTrainingConfig(steps=args.steps, batch_size=args.batch_size, learning_rate=1.5e-3,
                                      warmup_steps=min(300, args.steps // 10), eval_interval=min(500, args.steps))
    keras.utils.set_random_seed(config.seed)
    model = build_seq2seq_transformer(Seq2SeqConfig(
        source_tokenizer.vocab_size, target_tokenizer.vocab_size, num_encoder_layers=args.num_layers,
        num_decoder_layers=args.num_layers, num_heads=4 if args.hidden_dim >= 64 else 2, hidden_dim=args.hidden_dim,
        intermediate_dim=4 * args.hidden_dim, max_source_length=args.max_length, max_target_length=args.max_length))
    compile_translator(model, config)
    model.run_eagerly = args.quick  # 12 steps: tracing the train step would cost more than it saves
    data = pairs_dataset(*train, source_tokenizer, target_tokenizer, args.batch_size, args.max_length,
                         args.max_length, repeat=True)
    limit = TimeLimit(args.train_minutes * 60)
    model.fit(data, epochs=args.steps // config.eval_interval, steps_per_epoch=config.eval_interval,
              callbacks=[limit], verbose=args.verbose)
    steps = int(model.optimizer.iterations.numpy())
    print(f"trained {steps} steps in {limit.elapsed:.0f} s")

    scores = {}
    for beams in sorted({1, args.num_beams}):
        outputs = translate(model, source_tokenizer, target_tokenizer, test[0],
                            DecodingOptions(max_new_tokens=None, num_beams=beams))
        scores[beams] = {"bleu_zh": corpus_bleu(outputs, test[1], tokenize="zh"),
                         "bleu_13a": corpus_bleu(outputs, test[1], tokenize="13a"),
                         "chrf": corpus_chrf(outputs, test[1]), "outputs": outputs}
        print(f"beams {beams}: BLEU {scores[beams]['bleu_zh']:.2f} (sacrebleu zh tokenizer; with 13a it would be "
              f"{scores[beams]['bleu_13a']:.2f}), chrF {scores[beams]['chrf']:.2f} on {len(test[0])} test pairs")
    best = scores[args.num_beams]["outputs"]
    examples = list(zip(test[0], best, test[1]))[:args.examples]
    for source, output, reference in examples:
        print(f"  {source}\n    → {output}\n    (reference: {reference})")
    elapsed = time.perf_counter() - started
    print(f"wall time {elapsed:.0f} s")
    return {"scores": {b: {k: v for k, v in s.items() if k != "outputs"} for b, s in scores.items()},
            "examples": examples, "steps": steps, "train_seconds": limit.elapsed, "seconds": elapsed,
            "target_vocabulary": target_tokenizer.vocabulary}


if __name__ == "__main__":
    main()
