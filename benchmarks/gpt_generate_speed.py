"""Generation speed (tokens/s) of our GPT vs keras-hub's GPT-2, 256 new tokens, greedy.

All models: vocabulary 65 (character tokenizer of tiny Shakespeare), 4 layers, 4 heads,
width 128, feed-forward 512, context (max_length) 512 so that prompt + 256 new tokens fit
without our sliding window; random (untrained) weights. Prompts: the first 16 characters of
lines of tiny Shakespeare (batch 1 and batch 8), all the same length so keras-hub starts every
row at the same position. No stop tokens, and every run is checked to produce exactly 256 new
tokens per row.

Rows:
* ours cached + XLA: ``Generator.decode_ids(..., use_cache=True, jit_compile=True)`` on token ids.
* ours uncached + XLA: the same with ``use_cache=False`` (each step re-runs the model on the
  whole 512-token window).
* ours ``generate()`` text API (only with ``--text-api``): strings in, strings out, cached + XLA.
* ours exported SavedModel: ``export_text_generator`` → ``tf.saved_model.load`` →
  ``signatures["generate"]`` (strings in, strings out).
* keras-hub ``GPT2CausalLM.generate`` with the greedy sampler, token ids in (no preprocessor),
  as keras-hub compiles it by default: ``tf.function(jit_compile=model.jit_compile)``, and Keras
  resolves ``jit_compile="auto"`` to False on a CPU-only machine, so no XLA there.
* keras-hub the same after ``compile(jit_compile=True)`` (XLA), for a like-for-like comparison.

For each row and batch size the first call (tracing/compilation) is timed apart; then
``--calls`` timed calls are made round-robin over the rows (so machine-load changes hit all
rows alike) and the median is reported.

Run:
    .venv/bin/python benchmarks/gpt_generate_speed.py
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras
import keras_hub
import numpy as np
import tensorflow as tf

from keras_llm.export import export_text_generator
from keras_llm.generation import DecodingOptions, Generator, generate
from keras_llm.models import GPTConfig, build_gpt
from keras_llm.tokenizers import CharTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "shared", "data", "tiny_shakespeare", "input.txt")
NUM_LAYERS = 4
NUM_HEADS = 4
HIDDEN_DIM = 128
INTERMEDIATE_DIM = 512
CONTEXT = 512
NEW_TOKENS = 256
PROMPT_CHARS = 16
SEED = 1234


def load_corpus(path):
    for candidate in (path, os.path.join(HERE, "..", "data", "tiny_shakespeare", "input.txt")):
        if os.path.isfile(candidate):
            with open(candidate, encoding="utf-8") as f:
                return f.read()
    raise SystemExit(f"tiny Shakespeare not found at {path}; pass --corpus")


def make_prompts(text, count):
    lines = [line for line in text.splitlines() if len(line) >= PROMPT_CHARS]
    return [line[:PROMPT_CHARS] for line in lines[:count]]


def ours_ids_runner(generator, prompts, use_cache):
    prepared = {}

    def run(batch):
        if batch not in prepared:
            # bucket=32 as generate() does: the prompt width (16 -> 32) sizes the cache with the new tokens.
            prepared[batch] = generator.prepare_prompts(tf.constant(prompts[:batch]), bucket=32)
        prompt_ids, lengths = prepared[batch]
        new_ids, new_lengths = generator.decode_ids(prompt_ids, lengths, DecodingOptions(max_new_tokens=NEW_TOKENS),
                                                    use_cache=use_cache, jit_compile=True)
        new_lengths = new_lengths.numpy()
        assert new_ids.shape == (batch, NEW_TOKENS) and (new_lengths == NEW_TOKENS).all(), new_lengths
        return new_ids.numpy()

    return run


def ours_text_runner(model, tokenizer, prompts):
    def run(batch):
        texts = generate(model, tokenizer, prompts[:batch], DecodingOptions(max_new_tokens=NEW_TOKENS, seed=0),
                         use_cache=True, jit_compile=True)
        assert [len(t) for t in texts] == [NEW_TOKENS] * batch, [len(t) for t in texts]
        return texts

    return run


def saved_model_runner(signature, prompts):
    def run(batch):
        out = signature(prompts=tf.constant(prompts[:batch]), max_new_tokens=tf.constant(NEW_TOKENS),
                        temperature=tf.constant(0.0), top_k=tf.constant(0), seed=tf.constant(0))
        texts = [t.decode("utf-8") for t in out["completions"].numpy()]
        assert [len(t) for t in texts] == [NEW_TOKENS] * batch, [len(t) for t in texts]
        return texts

    return run


def keras_hub_runner(causal_lm, prompt_ids):
    def run(batch):
        ids = np.zeros((batch, PROMPT_CHARS + NEW_TOKENS), np.int32)
        ids[:, :PROMPT_CHARS] = prompt_ids[:batch]
        mask = np.zeros_like(ids)
        mask[:, :PROMPT_CHARS] = 1
        out = causal_lm.generate({"token_ids": ids, "padding_mask": mask}, stop_token_ids=None)
        token_ids = np.asarray(out["token_ids"])
        assert token_ids.shape == (batch, PROMPT_CHARS + NEW_TOKENS), token_ids.shape
        assert np.asarray(out["padding_mask"]).all()
        return token_ids[:, PROMPT_CHARS:]

    return run


def build_ours(vocab_size):
    """Our GPT with the benchmark's configuration and random weights (seeded)."""
    keras.utils.set_random_seed(SEED)
    return build_gpt(GPTConfig(vocab_size=vocab_size, max_length=CONTEXT, num_layers=NUM_LAYERS,
                               num_heads=NUM_HEADS, hidden_dim=HIDDEN_DIM, intermediate_dim=INTERMEDIATE_DIM,
                               dropout=0.0))


def build_keras_hub(vocab_size, jit_compile):
    keras.utils.set_random_seed(SEED)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=vocab_size, num_layers=NUM_LAYERS, num_heads=NUM_HEADS, hidden_dim=HIDDEN_DIM,
        intermediate_dim=INTERMEDIATE_DIM, dropout=0.0, max_sequence_length=CONTEXT)
    causal_lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    if jit_compile is None:
        causal_lm.compile(sampler="greedy")
    else:
        causal_lm.compile(sampler="greedy", jit_compile=jit_compile)
    return causal_lm


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3, help="timed calls per row and batch size (median)")
    parser.add_argument("--batch-sizes", default="1,8", help="comma-separated batch sizes")
    parser.add_argument("--skip", default="",
                        help="comma-separated rows to leave out: cached, uncached, savedmodel, hub, hub_xla")
    parser.add_argument("--text-api", action="store_true",
                        help="also time the text-level keras_llm.generation.generate()")
    parser.add_argument("--corpus", default=CORPUS, help="tiny Shakespeare input.txt (for the tokenizer)")
    args = parser.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    if args.calls <= 0 or not batch_sizes or min(batch_sizes) <= 0:
        parser.error("--calls and the batch sizes must be positive")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    print(f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, "
          f"keras-hub {keras_hub.__version__}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    text = load_corpus(args.corpus)
    tokenizer = CharTokenizer.train(text)
    prompts = make_prompts(text, max(batch_sizes))
    prompt_ids = np.array([tokenizer.encode(p) for p in prompts], np.int32)
    assert prompt_ids.shape == (len(prompts), PROMPT_CHARS)
    print(f"config: vocab {tokenizer.vocab_size}, {NUM_LAYERS} layers, {NUM_HEADS} heads, hidden {HIDDEN_DIM}, "
          f"intermediate {INTERMEDIATE_DIM}, context {CONTEXT}; prompts of {PROMPT_CHARS} tokens, "
          f"{NEW_TOKENS} new tokens, greedy", flush=True)
    model = build_ours(tokenizer.vocab_size)
    generator = Generator(model, tokenizer)

    rows = [  # (key, label, factory of a function batch_size -> outputs)
        ("cached", "ours cached + XLA (decode_ids)", lambda: ours_ids_runner(generator, prompts, True)),
        ("uncached", "ours uncached + XLA (decode_ids)", lambda: ours_ids_runner(generator, prompts, False)),
    ]
    if args.text_api:
        rows.append(("text", "ours generate() text API, cached + XLA",
                     lambda: ours_text_runner(model, tokenizer, prompts)))
    workdir = tempfile.TemporaryDirectory()
    if "savedmodel" not in skip:
        start = time.perf_counter()
        path = export_text_generator(model, tokenizer, base_dir=workdir.name, name="bench")
        signature = tf.saved_model.load(path).signatures["generate"]
        print(f"exported and loaded the SavedModel in {time.perf_counter() - start:.1f}s", flush=True)
        rows.append(("savedmodel", "ours exported SavedModel, signatures['generate']",
                     lambda: saved_model_runner(signature, prompts)))
    if "hub" not in skip:
        hub_default = build_keras_hub(tokenizer.vocab_size, None)
        rows.append(("hub", f"keras-hub GPT2CausalLM.generate, default (jit_compile={hub_default.jit_compile})",
                     lambda: keras_hub_runner(hub_default, prompt_ids)))
    if "hub_xla" not in skip:
        hub_xla = build_keras_hub(tokenizer.vocab_size, True)
        rows.append(("hub_xla", "keras-hub GPT2CausalLM.generate, jit_compile=True",
                     lambda: keras_hub_runner(hub_xla, prompt_ids)))
    rows = [(key, label, make()) for key, label, make in rows if key not in skip]

    total_start = time.perf_counter()
    first_call = {}
    for batch in batch_sizes:
        for key, label, run in rows:
            start = time.perf_counter()
            run(batch)
            first_call[key, batch] = time.perf_counter() - start
            print(f"  batch {batch}: first call of {label}: {first_call[key, batch]:.1f}s", flush=True)
    times = {key: [] for key in first_call}
    for index in range(args.calls):
        for batch in batch_sizes:
            for key, _, run in rows:
                start = time.perf_counter()
                run(batch)
                times[key, batch].append(time.perf_counter() - start)
        print(f"  round {index + 1}/{args.calls} done ({time.perf_counter() - total_start:.0f}s)", flush=True)
    medians = {key: statistics.median(values) for key, values in times.items()}

    print()
    print("| row | " + " | ".join(f"batch {b}: tokens/s" for b in batch_sizes) + " | "
          + " | ".join(f"batch {b}: median s/call (all calls; first call)" for b in batch_sizes) + " |")
    print("|---|" + "---:|" * len(batch_sizes) + "---|" * len(batch_sizes))
    for key, label, _ in rows:
        speeds = [f"{b * NEW_TOKENS / medians[key, b]:,.0f}" for b in batch_sizes]
        details = [f"{medians[key, b]:.3f} ({' '.join(f'{t:.3f}' for t in times[key, b])}; "
                   f"{first_call[key, b]:.1f})" for b in batch_sizes]
        print(f"| {label} | " + " | ".join(speeds) + " | " + " | ".join(details) + " |")
    print()
    present = {key for key, _, _ in rows}
    comparisons = [("cached", "uncached"), ("cached", "hub"), ("cached", "hub_xla"), ("savedmodel", "cached")]
    for batch in batch_sizes:
        parts = [f"{a} / {b} {medians[b, batch] / medians[a, batch]:.2f}×"
                 for a, b in comparisons if a in present and b in present]
        print(f"batch {batch} speed ratios: " + ", ".join(parts))
    print("(a / b > 1 means a is faster)")
    print(f"timed part {time.perf_counter() - total_start:.0f}s; load average now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
