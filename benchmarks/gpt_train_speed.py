"""Training speed of our GPT vs keras-hub's GPT-2 with the same configuration.

Both models: vocabulary 65, 4 layers, 4 heads, width 128, feed-forward 512, context 64,
dropout 0, tied input/output embedding; batch 12; AdamW (``keras_llm.training.make_adamw``,
lr 1e-3) on sparse cross-entropy from logits plus keras-hub's Perplexity metric, exactly as
``keras_llm.training.train_language_model`` compiles a model. Batches are random windows of a
random token stream (fixed seed), from our own ``language_model_dataset`` pipeline.

Training runs through ``model.fit`` (what our trainer uses), not ``train_on_batch``: only
``fit`` runs several steps per call (``steps_per_execution``) and includes the real input
pipeline. Time is taken by a callback from the start of the first step to the end of the last
one of each ``fit`` call, so ``fit``'s own set-up and tear-down are not counted.

Both models are measured in one process, alternating model by model in each round, so a
change in machine load hits both; the table shows the median over rounds of ms/step, and
also the minimum (the round least disturbed by other processes on a shared machine).

Settings: (a) default ``compile`` arguments (on a CPU-only machine Keras resolves
``jit_compile="auto"`` to False; ``steps_per_execution=1``); (b) ``jit_compile=True`` and
``steps_per_execution=50`` for both.

Known difference between the two models: ours uses the exact (erf) GELU, keras-hub's GPT-2 the
tanh approximation; keras-hub also takes an all-ones ``padding_mask`` input.

Run:
    .venv/bin/python benchmarks/gpt_train_speed.py --steps 100 --rounds 5
"""

import argparse
import os
import platform
import statistics
import sys
import time

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras
import keras_hub
import numpy as np
import tensorflow as tf

from keras_llm.data import language_model_dataset
from keras_llm.models import GPTConfig, build_gpt, parameter_count
from keras_llm.training import make_adamw

VOCAB_SIZE = 65
NUM_LAYERS = 4
NUM_HEADS = 4
HIDDEN_DIM = 128
INTERMEDIATE_DIM = 512
CONTEXT = 64
BATCH_SIZE = 12
LEARNING_RATE = 1e-3
SEED = 1234
STEPS_PER_EXECUTION = 50


class StepTimer(keras.callbacks.Callback):
    """Wall time from the first batch's start to the last batch's end of one ``fit`` call."""

    def on_train_begin(self, logs=None):
        self.start = None
        self.end = None

    def on_train_batch_begin(self, batch, logs=None):
        if self.start is None:
            self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.end = time.perf_counter()


def build_ours():
    config = GPTConfig(vocab_size=VOCAB_SIZE, max_length=CONTEXT, num_layers=NUM_LAYERS, num_heads=NUM_HEADS,
                       hidden_dim=HIDDEN_DIM, intermediate_dim=INTERMEDIATE_DIM, dropout=0.0, tie_weights=True)
    return build_gpt(config)


def build_keras_hub():
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=VOCAB_SIZE, num_layers=NUM_LAYERS, num_heads=NUM_HEADS, hidden_dim=HIDDEN_DIM,
        intermediate_dim=INTERMEDIATE_DIM, dropout=0.0, max_sequence_length=CONTEXT)
    # GPT2CausalLM without a preprocessor = backbone + tied output projection
    # (the backbone's ReversibleEmbedding called with reverse=True).
    return keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)


def compile_model(model, setting, is_keras_hub):
    kwargs = dict(
        optimizer=make_adamw(model, LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras_hub.metrics.Perplexity(from_logits=True)],
    )
    if setting == "xla":
        kwargs.update(jit_compile=True, steps_per_execution=STEPS_PER_EXECUTION)
    if is_keras_hub:
        kwargs["weighted_metrics"] = None  # CausalLM.compile would add accuracy by default
    model.compile(**kwargs)


def datasets(seed):
    rng = np.random.default_rng(seed)
    stream = rng.integers(0, VOCAB_SIZE, size=200_000, dtype=np.int32)
    ours = language_model_dataset(stream, CONTEXT, BATCH_SIZE, seed=seed)
    hub = ours.map(lambda x, y: ({"token_ids": x, "padding_mask": tf.ones_like(x)}, y))
    return ours, hub


def fit_ms_per_step(model, dataset, steps):
    timer = StepTimer()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer], shuffle=False)
    return 1000.0 * (timer.end - timer.start) / steps


def run_setting(setting, steps, rounds, warmup_steps):
    ours_ds, hub_ds = datasets(SEED)
    keras.utils.set_random_seed(SEED)
    ours = build_ours()
    keras.utils.set_random_seed(SEED)
    hub = build_keras_hub()
    entries = {"ours (keras_llm)": (ours, ours_ds, False), "keras-hub GPT2": (hub, hub_ds, True)}
    info = {}
    for name, (model, dataset, is_hub) in entries.items():
        compile_model(model, setting, is_hub)
        start = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=warmup_steps, verbose=0, shuffle=False)  # compile
        info[name] = dict(params=parameter_count(model), jit=model.jit_compile,
                          spe=model.steps_per_execution, warmup_s=time.perf_counter() - start)
        print(f"  [{setting}] {name}: {info[name]['params']:,} params, jit_compile={info[name]['jit']}, "
              f"steps_per_execution={info[name]['spe']}, warm-up {warmup_steps} steps "
              f"{info[name]['warmup_s']:.1f}s", flush=True)
    times = {name: [] for name in entries}
    for index in range(rounds):
        # Alternate which model goes first, so neither always follows the other.
        order = list(entries) if index % 2 == 0 else list(reversed(entries))
        for name in order:
            model, dataset, _ = entries[name]
            times[name].append(fit_ms_per_step(model, dataset, steps))
        print(f"  [{setting}] round {index + 1}/{rounds}: "
              + ", ".join(f"{name} {times[name][-1]:.2f} ms/step" for name in entries), flush=True)
    return times, info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100,
                        help=f"timed steps per fit call (rounded up to a multiple of {STEPS_PER_EXECUTION} "
                             "for the XLA setting)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per model and setting")
    parser.add_argument("--settings", default="default,xla", help="comma-separated subset of: default,xla")
    args = parser.parse_args(argv)
    if args.steps <= 0 or args.rounds <= 0:
        parser.error("--steps and --rounds must be positive")
    settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    if not settings or any(s not in ("default", "xla") for s in settings):
        parser.error("--settings must name default and/or xla")

    print(f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, "
          f"keras-hub {keras_hub.__version__}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print(f"config: vocab {VOCAB_SIZE}, {NUM_LAYERS} layers, {NUM_HEADS} heads, hidden {HIDDEN_DIM}, "
          f"intermediate {INTERMEDIATE_DIM}, context {CONTEXT}, batch {BATCH_SIZE}, dropout 0, "
          f"AdamW lr {LEARNING_RATE}", flush=True)
    total_start = time.perf_counter()
    results = {}
    for setting in settings:
        if setting == "xla":
            steps = -(-args.steps // STEPS_PER_EXECUTION) * STEPS_PER_EXECUTION
            warmup = STEPS_PER_EXECUTION
        else:
            steps, warmup = args.steps, 10
        results[setting] = (steps,) + run_setting(setting, steps, args.rounds, warmup)

    labels = {"default": "(a) default compile (jit_compile auto→{jit}, steps_per_execution 1)",
              "xla": f"(b) jit_compile=True, steps_per_execution={STEPS_PER_EXECUTION}"}
    print()
    print("| setting | ours ms/step (median) | keras-hub ms/step (median) | keras-hub / ours (medians) | "
          "ours min | keras-hub min | keras-hub / ours (mins) | ours per round | keras-hub per round |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for setting, (steps, times, info) in results.items():
        ours, hub = times["ours (keras_llm)"], times["keras-hub GPT2"]
        label = labels[setting].format(jit=info["ours (keras_llm)"]["jit"])
        print(f"| {label}, {steps} steps × {len(ours)} rounds | {statistics.median(ours):.2f} | "
              f"{statistics.median(hub):.2f} | {statistics.median(hub) / statistics.median(ours):.2f}× | "
              f"{min(ours):.2f} | {min(hub):.2f} | {min(hub) / min(ours):.2f}× | "
              f"{' '.join(f'{t:.2f}' for t in ours)} | {' '.join(f'{t:.2f}' for t in hub)} |")
    print()
    print("keras-hub / ours > 1 means ours is faster.")
    print(f"total wall time {time.perf_counter() - total_start:.0f}s; load average now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
