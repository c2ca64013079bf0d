"""Served speed: exported SavedModels in a fresh process, portable vs XLA, against in-process decoding.

Two steps, so every SavedModel is measured by a process that did not write it:

1. ``prepare OUT``: random-weight models of the recipes' sizes, exported with the library:
   * the GPT of ``gpt-shakespeare-char`` (65 characters, context 64, 4 layers, 4 heads, width 128);
   * a BERT classifier of ``bert-classifier``'s size (2 layers, width 128, ``max_length`` 128), exported
     twice: as the library exports it (each batch padded to its longest text) and with the padding
     to ``max_length`` that exports had before ``keras_llm/data/padding.py`` (reproduced by exporting
     with ``trim_to_longest`` replaced by the identity and every model call on a full chunk of 32 rows,
     ``map_in_chunks(fixed_rows=True)``, as those exports ran; the rest of the graph is today's).
2. ``measure OUT``: one child process per model kind loads the SavedModel(s) and runs, for batch 1,
   8 and 32 and short and long inputs, every variant in turn (round-robin, so load changes hit all
   alike): latency p50/p95 and throughput. The GPT child also runs the in-process XLA decoding
   (``Generator.complete(jit_compile=True)``, strings in and out) as the reference. Then a client
   loop of ``--threads`` threads sends batch-1 requests to one loaded signature for ``--seconds``.
   Each child prints its wall and CPU time and the load average before and after.
   If ``OUT/gpt_before/1`` exists (the same ``gpt.keras`` exported by an older checkout), its
   portable ``generate`` is measured too, as "exported portable (before)".

3. ``profile OUT --model gpt --signature generate``: where one request's time goes when a loaded
   signature runs op by op (TensorFlow profiler): ops run per new token and time by op type.

Run:
    .venv/bin/python benchmarks/serving_speed.py prepare /work/scratch-serving/bench
    .venv/bin/python benchmarks/serving_speed.py measure /work/scratch-serving/bench --rounds 5
    .venv/bin/python benchmarks/serving_speed.py profile /work/scratch-serving/bench --signature generate
"""

import argparse
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time

BATCHES = (1, 8, 32)
NEW_TOKENS = 64
GPT_INPUTS = {"short": "ROMEO:\n", "long": "First Citizen:\nBefore we proceed any further, hear me speak.\n"}
CLASSIFIER_INPUTS = {"short": "a great film", "long": " ".join(["the acting was wonderful and the story great"] * 10)}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("prepare", "measure", "profile", "child-gpt", "child-classifier"))
    parser.add_argument("out", help="folder of the exports (prepare writes it, measure reads it)")
    parser.add_argument("--rounds", type=int, default=5, help="timed calls per variant and shape")
    parser.add_argument("--threads", type=int, default=4, help="clients of the concurrent loop")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each concurrent loop")
    parser.add_argument("--only", choices=("gpt", "classifier"), help="measure: one model kind")
    parser.add_argument("--variants", help="measure: comma-separated variant names to keep (default: all)")
    parser.add_argument("--shapes", help="measure: comma-separated BATCH:INPUT pairs, e.g. 1:short,32:long "
                                         "(default: batch 1, 8, 32 × short, long)")
    parser.add_argument("--no-concurrent", action="store_true", help="measure: skip the concurrent client loops")
    parser.add_argument("--model", default="gpt", help="profile: the export folder under OUT (gpt, gpt_before)")
    parser.add_argument("--signature", default="generate", help="profile: the signature to run")
    return parser.parse_args(argv)


def prepare(out):
    import keras_llm  # noqa: F401  (KERAS_BACKEND before keras)

    # isort: split
    import keras

    import keras_llm.data.pooled_prediction as pooled
    from keras_llm.export import export_text_classifier, export_text_generator
    from keras_llm.models import GPTConfig, build_gpt
    from keras_llm.models.bert import BertConfig
    from keras_llm.models.bert_classifier import build_bert_classifier
    from keras_llm.tokenizers import CharTokenizer, WordPieceTokenizer

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = open(os.path.join(here, "data", "tiny_shakespeare", "input.txt"), encoding="utf-8").read()
    keras.utils.set_random_seed(0)
    tokenizer = CharTokenizer.train(text)
    gpt = build_gpt(GPTConfig(vocab_size=tokenizer.vocab_size, max_length=64, num_layers=4, num_heads=4,
                              hidden_dim=128, dropout=0.0))
    gpt.save(os.path.join(out, "gpt.keras"))
    export_text_generator(gpt, tokenizer, base_dir=out, name="gpt", max_new_tokens=NEW_TOKENS)

    words = sorted(set(" ".join(CLASSIFIER_INPUTS.values()).split()))
    wordpiece = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words)
    classifier = build_bert_classifier(BertConfig(vocab_size=wordpiece.vocab_size, hidden_dim=128, num_layers=2,
                                                  num_heads=2, max_length=128, dropout=0.0), num_classes=2)
    export_text_classifier(classifier, wordpiece, ["neg", "pos"], 128, base_dir=out, name="classifier")
    longest, chunks = pooled.trim_to_longest, pooled.map_in_chunks
    pooled.trim_to_longest = _keep_max_length  # the export before padding.py
    pooled.map_in_chunks = functools.partial(chunks, fixed_rows=True)  # ... which ran chunks of 32 rows
    try:
        export_text_classifier(classifier, wordpiece, ["neg", "pos"], 128, base_dir=out, name="classifier_max_length")
    finally:
        pooled.trim_to_longest, pooled.map_in_chunks = longest, chunks


def _keep_max_length(inputs, *extra):
    """``trim_to_longest`` as it was before ``padding.py``: every batch keeps ``max_length`` columns."""
    return (inputs, *extra)


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _shapes(args):
    if not args.shapes:
        return [(batch, kind) for batch in BATCHES for kind in ("short", "long")]
    return [(int(pair.split(":")[0]), pair.split(":")[1]) for pair in args.shapes.split(",")]


def _kept(variants, args):
    if not args.variants:
        return variants
    return {name: fn for name, fn in variants.items() if name in args.variants.split(",")}


def round_robin(variants, make_inputs, rounds, units, shapes):
    """Time ``rounds`` calls of each variant per (batch, input kind) of ``shapes``, alternating variants.

    ``variants``: name → ``fn(inputs)``; ``units(batch)``: what a call delivers (tokens, texts).
    Returns rows ``{variant, batch, input, p50_ms, p95_ms, per_s, first_s}``."""
    rows = []
    for batch, kind in shapes:
        inputs = make_inputs(kind, batch)
        first = {}
        for name, fn in variants.items():
            start = time.perf_counter()
            fn(inputs)  # tracing / XLA compilation of this shape
            first[name] = time.perf_counter() - start
        times = {name: [] for name in variants}
        for _ in range(rounds):
            for name, fn in variants.items():
                start = time.perf_counter()
                fn(inputs)
                times[name].append(time.perf_counter() - start)
        for name, seconds in times.items():
            rows.append({"variant": name, "batch": batch, "input": kind,
                         "p50_ms": 1000 * statistics.median(seconds), "p95_ms": 1000 * _percentile(seconds, 0.95),
                         "per_s": units(batch) / statistics.median(seconds), "first_s": first[name]})
        print(json.dumps(rows[-len(variants):]), file=sys.stderr, flush=True)
    return rows


def concurrent_loop(fn, inputs, threads, seconds):
    """``threads`` clients call ``fn(inputs)`` back to back until ``seconds`` pass; latencies and calls/s."""
    latencies, lock, stop = [], threading.Lock(), time.perf_counter() + seconds

    def client():
        while time.perf_counter() < stop:
            start = time.perf_counter()
            fn(inputs)
            with lock:
                latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return {"threads": threads, "calls": len(latencies), "calls_per_s": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies), "p95_ms": 1000 * _percentile(latencies, 0.95)}


def child_gpt(args):
    import tensorflow as tf

    loaded = tf.saved_model.load(os.path.join(args.out, "gpt", "1"))

    def exported(signature):
        function = loaded.signatures[signature]

        def run(prompts):
            return function(prompts=prompts, max_new_tokens=tf.constant(NEW_TOKENS), temperature=tf.constant(0.0),
                            top_k=tf.constant(0), seed=tf.constant(0))["completions"]
        return run

    variants = {"exported portable": exported("generate"), "exported XLA": exported("generate_xla")}
    if os.path.isdir(os.path.join(args.out, "gpt_before", "1")):  # the export of the commit before buckets
        before = tf.saved_model.load(os.path.join(args.out, "gpt_before", "1")).signatures["generate"]
        variants["exported portable (before)"] = lambda prompts: before(
            prompts=prompts, max_new_tokens=tf.constant(NEW_TOKENS), temperature=tf.constant(0.0),
            top_k=tf.constant(0), seed=tf.constant(0))["completions"]
    # The in-process reference, loaded after the SavedModel (the export itself never needs keras_llm).
    import keras_llm  # noqa: F401  (KERAS_BACKEND before keras)

    # isort: split
    import keras

    from keras_llm.generation import DecodingOptions, Generator
    from keras_llm.tokenizers import CharTokenizer
    text = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                             "tiny_shakespeare", "input.txt"), encoding="utf-8").read()
    generator = Generator(keras.models.load_model(os.path.join(args.out, "gpt.keras")), CharTokenizer.train(text))
    greedy = DecodingOptions(max_new_tokens=NEW_TOKENS)
    variants["in-process XLA"] = lambda prompts: generator.complete(prompts, greedy, jit_compile=True)

    def make_inputs(kind, batch):
        return tf.constant([GPT_INPUTS[kind]] * batch)

    variants = _kept(variants, args)
    check = make_inputs("long", 8)
    texts = {name: fn(check).numpy().tolist() for name, fn in variants.items()}
    assert len({json.dumps([t.decode("latin-1") for t in v]) for v in texts.values()}) == 1, "variants disagree"
    rows = round_robin(variants, make_inputs, args.rounds, lambda batch: batch * NEW_TOKENS, _shapes(args))
    loops = {name: concurrent_loop(variants[name], make_inputs("short", 1), args.threads, args.seconds)
             for name in ("exported portable", "exported XLA") if name in variants and not args.no_concurrent}
    return {"rows": rows, "concurrent": loops, "unit": "tokens/s", "new_tokens": NEW_TOKENS}


def child_classifier(args):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (WordPiece ops)

    variants = {}
    for name, folder in (("padded to longest", "classifier"), ("padded to max_length", "classifier_max_length")):
        function = tf.saved_model.load(os.path.join(args.out, folder, "1")).signatures["serving_default"]
        variants[name] = lambda texts, function=function: function(texts=texts)["probabilities"]

    def make_inputs(kind, batch):
        return tf.constant([CLASSIFIER_INPUTS[kind]] * batch)

    check = make_inputs("long", 8)
    outputs = [fn(check).numpy() for fn in variants.values()]
    assert abs(outputs[0] - outputs[1]).max() < 1e-5, "padding changed the probabilities"
    rows = round_robin(variants, make_inputs, args.rounds, lambda batch: batch, _shapes(args))
    loops = {name: concurrent_loop(fn, make_inputs("short", 1), args.threads, args.seconds)
             for name, fn in variants.items() if not args.no_concurrent}
    return {"rows": rows, "concurrent": loops, "unit": "texts/s"}


def run_child(kind, args):
    load_before = os.getloadavg()
    started = time.perf_counter()
    result = child_gpt(args) if kind == "gpt" else child_classifier(args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.update(wall_s=time.perf_counter() - started, cpu_s=usage.ru_utime + usage.ru_stime,
                  load_before=load_before, load_after=os.getloadavg())
    print(json.dumps(result))


def measure(args):
    results = {}
    for kind in [args.only] if args.only else ("gpt", "classifier"):
        command = [sys.executable, os.path.abspath(__file__), f"child-{kind}", args.out, "--rounds", str(args.rounds),
                   "--threads", str(args.threads), "--seconds", str(args.seconds)]
        for flag, value in (("--variants", args.variants), ("--shapes", args.shapes)):
            command += [flag, value] if value else []
        command += ["--no-concurrent"] if args.no_concurrent else []
        env = {k: v for k, v in os.environ.items()}
        completed = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        results[kind] = json.loads(completed.stdout.strip().splitlines()[-1])
    print(json.dumps(results, indent=1))
    print(markdown(results))


def markdown(results):
    lines = []
    for kind, result in results.items():
        lines += [f"\n{kind} ({result['unit']}; wall {result['wall_s']:.0f} s, CPU {result['cpu_s']:.0f} s, load "
                  f"{result['load_before'][0]:.1f} → {result['load_after'][0]:.1f})", "",
                  "| batch | input | variant | p50 ms | p95 ms | per s | first call s |",
                  "|---|---|---|---|---|---|---|"]
        for row in result["rows"]:
            lines.append(f"| {row['batch']} | {row['input']} | {row['variant']} | {row['p50_ms']:.1f} | "
                         f"{row['p95_ms']:.1f} | {row['per_s']:.0f} | {row['first_s']:.1f} |")
        lines += ["", "| concurrent (batch 1, short) | threads | calls | calls/s | p50 ms | p95 ms |",
                  "|---|---|---|---|---|---|"]
        for name, loop in result["concurrent"].items():
            lines.append(f"| {name} | {loop['threads']} | {loop['calls']} | {loop['calls_per_s']:.1f} | "
                         f"{loop['p50_ms']:.1f} | {loop['p95_ms']:.1f} |")
    return "\n".join(lines)


def profile(args):
    """Op types of one batch-1 greedy request of ``NEW_TOKENS`` tokens, by time, from the profiler's trace."""
    import collections
    import glob
    import tempfile

    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    function = tf.saved_model.load(os.path.join(args.out, args.model, "1")).signatures[args.signature]

    def request():
        return function(prompts=tf.constant([GPT_INPUTS["short"]]), max_new_tokens=tf.constant(NEW_TOKENS),
                        temperature=tf.constant(0.0), top_k=tf.constant(0), seed=tf.constant(0))

    request(), request()  # tracing, XLA compilation, caches
    logdir = tempfile.mkdtemp()
    tf.profiler.experimental.start(logdir)
    started = time.perf_counter()
    request()
    wall = time.perf_counter() - started
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    (path,) = glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb"))
    with open(path, "rb") as handle:
        space.ParseFromString(handle.read())
    milliseconds, runs = collections.Counter(), collections.Counter()
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "?")
                if ":" in name:  # TensorFlow ops are traced as "name:OpType"
                    op_type = name.rsplit(":", 1)[1]
                    milliseconds[op_type] += event.duration_ps / 1e9
                    runs[op_type] += 1
    print(f"{args.model}/{args.signature}: {1000 * wall:.0f} ms for {NEW_TOKENS} tokens, "
          f"{sum(runs.values()) / NEW_TOKENS:.0f} TensorFlow ops per token, load {os.getloadavg()[0]:.1f}")
    for op_type, ms in milliseconds.most_common(12):
        print(f"| {op_type} | {ms:.1f} ms | {runs[op_type]} runs |")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.step == "prepare":
        os.makedirs(args.out, exist_ok=True)
        prepare(args.out)
    elif args.step == "measure":
        measure(args)
    elif args.step == "profile":
        profile(args)
    else:
        run_child(args.step[len("child-"):], args)


if __name__ == "__main__":
    main()
