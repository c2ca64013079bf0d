"""Translation quality after a fixed CPU training budget: BLEU and chrF, greedy vs beam search.

English → Spanish on data/spa_eng/spa.txt. The held-out test pairs are whole groups of English
sentences (every Spanish translation of a held-out English sentence is held out with it), chosen
by a seeded shuffle, so no test source is ever trained on; the vocabularies are learned from the
training pairs only. The model is the ``transformer-spa-eng`` recipe's (2+2 blocks, width 128,
20 tokens a side) trained with the library's recipe (``compile_translator``: AdamW, warm-up +
cosine, label smoothing 0.1) for ``--steps`` steps or ``--train-minutes`` of wall time, whichever
ends first. Then the test sources are translated greedily and with beam search, and sacrebleu
scores them against the lowercased references (the vocabularies are lowercased, so this is
case-insensitive BLEU, sacrebleu's 13a tokenizer; chrF β = 2). Test pairs longer than the
model's 20 tokens are kept: their source is truncated and their reference is scored whole.

    .venv/bin/python benchmarks/translator_quality.py --train-minutes 10 \
        --output benchmarks/results/translator_quality_2026-11-24.json

The trained model and tokenizers go to ``--run-dir`` for benchmarks/translator_decode_speed.py.
"""

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras
import tensorflow as tf

from keras_llm.data.pairs import filter_by_length, pairs_dataset, read_pairs, train_pair_tokenizers
from keras_llm.generation import DecodingOptions, translate
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer
from keras_llm.training.callbacks import TimeLimit
from keras_llm.training.translation_metrics import corpus_bleu, corpus_chrf
from keras_llm.training.translator import TranslatorTrainingConfig, compile_translator

DATA = Path(__file__).resolve().parents[1] / "data" / "spa_eng" / "spa.txt"
MODEL = dict(num_encoder_layers=2, num_decoder_layers=2, num_heads=4, hidden_dim=128, intermediate_dim=512,
             max_source_length=20, max_target_length=20, dropout=0.1)  # transformer-spa-eng's model_config


def split_by_source(sources, targets, test_pairs, valid_pairs, seed):
    """``(train, valid, test)`` as ``(sources, targets)``; held-out sets take whole English groups."""
    groups = {}
    for index, source in enumerate(sources):
        groups.setdefault(source, []).append(index)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    held, budgets, current = [[], []], (test_pairs, valid_pairs), 0
    train = []
    for key in keys:
        if current < 2 and len(held[current]) + len(groups[key]) <= budgets[current]:
            held[current] += groups[key]
            current += len(held[current]) == budgets[current]
        else:
            train += groups[key]
    pick = lambda rows: ([sources[i] for i in sorted(rows)], [targets[i] for i in sorted(rows)])  # noqa: E731
    return pick(train), pick(held[1]), pick(held[0])


def score(model, source_tokenizer, target_tokenizer, sources, references, num_beams, batch_size):
    """Translate in batches; returns ``(metrics dict, translations)``."""
    started, translations = time.perf_counter(), []
    for i in range(0, len(sources), batch_size):
        translations += translate(model, source_tokenizer, target_tokenizer, sources[i:i + batch_size],
                                  DecodingOptions(max_new_tokens=None, num_beams=num_beams))
    seconds = time.perf_counter() - started
    lowered = [reference.lower() for reference in references]
    return {"num_beams": num_beams, "bleu": corpus_bleu(translations, lowered),
            "chrf": corpus_chrf(translations, lowered), "decode_seconds": seconds, "sentences": len(sources)}, \
        translations


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--max-pairs", type=int, help="use only the first N pairs (smoke tests)")
    parser.add_argument("--test-pairs", type=int, default=1000)
    parser.add_argument("--valid-pairs", type=int, default=500)
    parser.add_argument("--vocabulary-size", type=int, default=8000, help="per side (the recipe: 8000/10000)")
    parser.add_argument("--steps", type=int, default=3000, help="the schedule's length (the recipe's)")
    parser.add_argument("--train-minutes", type=float, default=10.0, help="wall-clock training budget")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--run-dir", default="/tmp/translator_quality_run")
    parser.add_argument("--output", help="write the results as JSON here")
    parser.add_argument("--seed", type=int, default=20241124)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    sources, targets = read_pairs(args.data)
    sources, targets = sources[:args.max_pairs], targets[:args.max_pairs]
    train, valid, test = split_by_source(sources, targets, args.test_pairs, args.valid_pairs, args.seed)
    assert not set(train[0]) & set(test[0]), "a test source leaked into training"
    source_tokenizer, target_tokenizer = train_pair_tokenizers(*train, args.vocabulary_size,
                                                               int(args.vocabulary_size * 1.25))
    tokenizer_seconds = time.perf_counter() - started
    lengths = (MODEL["max_source_length"], MODEL["max_target_length"])
    *train, dropped = filter_by_length(*train, source_tokenizer, target_tokenizer, *lengths)
    *valid, _ = filter_by_length(*valid, source_tokenizer, target_tokenizer, *lengths)
    print(f"{len(train[0])} training pairs ({dropped} too long), {len(valid[0])} validation, {len(test[0])} test; "
          f"vocabularies {source_tokenizer.vocab_size}/{target_tokenizer.vocab_size} ({tokenizer_seconds:.0f} s)",
          flush=True)

    config = TranslatorTrainingConfig(steps=args.steps, batch_size=args.batch_size, learning_rate=1.5e-3,
                                      warmup_steps=300, eval_interval=500, eval_batches=8)
    keras.utils.set_random_seed(1337)
    model = build_seq2seq_transformer(Seq2SeqConfig(source_tokenizer.vocab_size, target_tokenizer.vocab_size,
                                                    **MODEL))
    compile_translator(model, config)
    train_data = pairs_dataset(*train, source_tokenizer, target_tokenizer, args.batch_size, *lengths, repeat=True)
    valid_data = pairs_dataset(*valid, source_tokenizer, target_tokenizer, args.batch_size, *lengths,
                               shuffle=False).take(config.eval_batches).cache()
    limit = TimeLimit(args.train_minutes * 60)
    history = model.fit(train_data, validation_data=valid_data, epochs=args.steps // config.eval_interval,
                        steps_per_epoch=config.eval_interval, callbacks=[limit], verbose=2)
    steps_done = int(model.optimizer.iterations.numpy())
    print(f"trained {steps_done} steps in {limit.elapsed:.0f} s (time limit hit: {limit.stopped})", flush=True)

    os.makedirs(args.run_dir, exist_ok=True)
    model.save(os.path.join(args.run_dir, "final.keras"))
    source_tokenizer.save(os.path.join(args.run_dir, "source_tokenizer"))
    target_tokenizer.save(os.path.join(args.run_dir, "target_tokenizer"))

    results, samples = [], {}
    for beams in args.beams:
        metrics, translations = score(model, source_tokenizer, target_tokenizer, *test, beams, 100)
        results.append(metrics)
        samples[beams] = translations[:8]
        print(f"beams {beams}: BLEU {metrics['bleu']:.2f}  chrF {metrics['chrf']:.2f}  "
              f"({metrics['sentences']} sentences decoded in {metrics['decode_seconds']:.0f} s)", flush=True)
    report = {
        "command": "benchmarks/translator_quality.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.platform(),
        "cpu_count": os.cpu_count(), "load_average_at_end": os.getloadavg(), "tensorflow": tf.__version__,
        "pairs": {"train": len(train[0]), "train_dropped_too_long": dropped, "valid": len(valid[0]),
                  "test": len(test[0])},
        "vocabularies": [source_tokenizer.vocab_size, target_tokenizer.vocab_size],
        "parameters": model.count_params(), "steps": steps_done, "train_seconds": limit.elapsed,
        "time_limit_hit": limit.stopped, "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "results": results,
        "examples": [{"source": s, "reference": r, **{f"beams_{b}": samples[b][i] for b in samples}}
                     for i, (s, r) in enumerate(zip(test[0][:8], test[1][:8]))],
        "total_seconds": time.perf_counter() - started,
    }
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, ensure_ascii=False)
    return report


if __name__ == "__main__":
    main()
