"""float32 vs mixed_bfloat16 training step time of the baby GPT (docs/benchmarks.md, item 9d).

Run: .venv/bin/python benchmarks/gpt_precision_speed.py [--steps 100 --rounds 3]

Both policies train the same configuration (vocab 65, 4 layers, 4 heads, 128 wide, context 64,
batch 12) with the trainer's optimizer and loss, XLA on (or off with --no-jit), on random token windows.
Rounds alternate between the two policies in one process; the median ms/step over rounds is reported.
"""

import argparse
import statistics
import time

import keras  # noqa: E402, I001
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_llm  # noqa: F401  (TensorFlow backend)
from keras_llm.models import GPTConfig, build_gpt  # noqa: E402
from keras_llm.training import make_adamw  # noqa: E402


def make_model(policy, jit_compile):
    keras.config.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    model = build_gpt(GPTConfig(vocab_size=65))
    model.compile(optimizer=make_adamw(model, 1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit_compile)
    keras.config.set_dtype_policy("float32")
    return model


def dataset():
    ids = np.random.default_rng(0).integers(0, 65, size=(4096, 65)).astype("int32")
    return tf.data.Dataset.from_tensor_slices((ids[:, :-1], ids[:, 1:])).repeat().batch(12)


def time_steps(model, data, steps):
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return (time.perf_counter() - start) / steps * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-jit", action="store_true", help="plain tf.function (oneDNN kernels) instead of XLA")
    args = parser.parse_args()
    data = dataset()
    models = {policy: make_model(policy, not args.no_jit) for policy in ("float32", "mixed_bfloat16")}
    for model in models.values():
        time_steps(model, data, 10)  # compile
    times = {policy: [] for policy in models}
    for _ in range(args.rounds):
        for policy, model in models.items():
            times[policy].append(time_steps(model, data, args.steps))
    print("| policy | median ms/step | rounds |")
    print("|---|---|---|")
    for policy, values in times.items():
        print(f"| {policy} | {statistics.median(values):.1f} | {', '.join(f'{v:.1f}' for v in values)} |")
    ratio = statistics.median(times["float32"]) / statistics.median(times["mixed_bfloat16"])
    print(f"\nfloat32 / mixed_bfloat16 step time: {ratio:.2f}x")


if __name__ == "__main__":
    main()
