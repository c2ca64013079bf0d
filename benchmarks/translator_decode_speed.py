"""Translator decoding speed: cached vs uncached decoder, eager vs tf.function vs XLA, greedy vs beam.

The *uncached* decoder is ``translate_ids(..., use_cache=False)``: at every step it re-runs the
whole model (encoder and full decoder) on ``[start] + tokens so far``, i.e. O(n²) decoder work for
n tokens, as a naive loop does. The *cached* one runs the encoder and the cross-attention
keys/values once per source and the decoder one token per step with a self-attention key/value
cache. Both give the same greedy tokens (tested in tests/generation/test_seq2seq_search.py).
Beam search always uses the cache.

Modes: ``eager`` calls the decoding function directly (TensorFlow runs the ``tf.while_loop``
op by op from Python), ``graph`` wraps it in ``tf.function``, ``xla`` in
``tf.function(jit_compile=True)``. Each timing is the median of ``--repeats`` calls after one
warm-up call (whose time, tracing and compilation included, is reported as ``first_call_s``).
Tokens/s counts generated target tokens (the end token included, padding not).

    .venv/bin/python benchmarks/translator_decode_speed.py --run-dir /tmp/translator_quality_run \
        --output benchmarks/results/translator_decode_speed_2026-11-24.json

``--run-dir`` is the directory benchmarks/translator_quality.py wrote (``final.keras`` + the two
tokenizers); without it a randomly initialised model of the same shape is timed (its outputs
rarely end early, so every step is decoded).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras
import tensorflow as tf

from keras_llm.data.pairs import read_pairs, start_end_ids
from keras_llm.generation import DecodingOptions, translate_ids
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer
from keras_llm.tokenizers import load_tokenizer

DATA = Path(__file__).resolve().parents[1] / "data" / "spa_eng" / "spa.txt"


def load(run_dir, vocabulary_size=8000):
    """``(model, source_tokenizer, start_id, end_id)`` from a run directory, or random weights."""
    if run_dir:
        model = keras.models.load_model(os.path.join(run_dir, "final.keras"), compile=False)
        source = load_tokenizer(os.path.join(run_dir, "source_tokenizer"))
        return model, source, *start_end_ids(load_tokenizer(os.path.join(run_dir, "target_tokenizer")))
    from keras_llm.data.pairs import train_pair_tokenizers

    sources, targets = read_pairs(DATA)
    source, target = train_pair_tokenizers(sources[::20], targets[::20], vocabulary_size, vocabulary_size)
    keras.utils.set_random_seed(0)
    model = build_seq2seq_transformer(Seq2SeqConfig(
        source.vocab_size, target.vocab_size, num_heads=4, hidden_dim=128, intermediate_dim=512,
        max_source_length=20, max_target_length=20, dropout=0.0))
    return model, source, *start_end_ids(target)


def time_calls(fn, repeats):
    started = time.perf_counter()
    ids = fn()
    first = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        ids = fn()
        times.append(time.perf_counter() - started)
    return first, statistics.median(times), ids


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", help="a directory written by translator_quality.py (else random weights)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--max-new-tokens", type=int, default=19, help="at most max_target_length - 1 = 19")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-early-stop", action="store_true",
                        help="end id -1 (never produced): every row decodes --max-new-tokens tokens, so cached and "
                             "uncached do the same number of steps at the full length")
    parser.add_argument("--skip-eager-uncached", action="store_true", help="the slowest row (minutes at batch 32)")
    parser.add_argument("--output", help="write the results as JSON here")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model, source_tokenizer, start_id, end_id = load(args.run_dir)
    end_id = -1 if args.no_early_stop else end_id
    sources, _ = read_pairs(DATA)
    # Sentences of typical length (the file is sorted by length): every 50th from the middle third.
    sentences = sources[len(sources) // 3: 2 * len(sources) // 3: 50]
    rows = []
    for batch_size in args.batch_sizes:
        source_ids = source_tokenizer.tokenize(tf.constant(sentences[:batch_size])).to_tensor(0)
        # Fixed width (XLA compiles per shape, and every mode should see the same input).
        source_ids = tf.pad(source_ids[:, :20], [[0, 0], [0, 20 - min(int(source_ids.shape[1]), 20)]])
        for decoder, beams, use_cache in (("cached", 1, True), ("uncached", 1, False), ("cached", 4, True)):
            for mode in ("eager", "graph", "xla"):
                if mode == "eager" and not use_cache and args.skip_eager_uncached:
                    continue

                def decode(ids, beams=beams, use_cache=use_cache):
                    options = DecodingOptions(max_new_tokens=args.max_new_tokens, num_beams=beams)
                    return translate_ids(model, ids, options, start_id, end_id, use_cache=use_cache)
                fn = decode if mode == "eager" else tf.function(decode, jit_compile=mode == "xla")
                first, median, ids = time_calls(lambda fn=fn, ids=source_ids: fn(ids), args.repeats)
                # Generated tokens: the non-padding ids plus one end token for each row that ended.
                produced = int(tf.reduce_sum(tf.cast(ids > 0, tf.int32)))
                ended = int(tf.reduce_sum(tf.cast(ids[:, -1] == 0, tf.int32)))
                row = {"batch": batch_size, "decoder": decoder, "beams": beams, "mode": mode,
                       "first_call_s": first, "median_s": median, "tokens": produced + ended,
                       "sentences_per_s": batch_size / median, "tokens_per_s": (produced + ended) / median}
                rows.append(row)
                print(f"batch {batch_size:3d} {decoder:8s} beams {beams} {mode:5s}: {median * 1000:9.1f} ms "
                      f"({row['sentences_per_s']:8.1f} sentences/s, {row['tokens_per_s']:8.1f} tokens/s; "
                      f"first call {first:.1f} s)", flush=True)
    command = " ".join(argv if argv is not None else sys.argv[1:])
    report = {"command": f"benchmarks/translator_decode_speed.py {command}",
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.platform(),
              "cpu_count": os.cpu_count(), "load_average_at_end": os.getloadavg(), "tensorflow": tf.__version__,
              "trained_model": bool(args.run_dir), "early_stop": not args.no_early_stop,
              "parameters": model.count_params(), "rows": rows}
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    return report


if __name__ == "__main__":
    main()
