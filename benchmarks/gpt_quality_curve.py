"""Validation-loss curve of a trained GPT run, read back from its TensorBoard event files.

Run: make demo   (or keras-llm train gpt-shakespeare-char --run-dir runs/demo), then
     .venv/bin/python benchmarks/gpt_quality_curve.py runs/demo --output docs/gpt_shakespeare_char_curve.png

Prints a markdown table of (step, train loss, val loss, val perplexity) and saves the plot.
"""

import argparse
import csv
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tensorboard.backend.event_processing import event_accumulator  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402


def read_scalars(directory, tag):
    accumulator = event_accumulator.EventAccumulator(directory, size_guidance={"tensors": 0})
    accumulator.Reload()
    return [(event.step, float(tensor_util.make_ndarray(event.tensor_proto))) for event in accumulator.Tensors(tag)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--output", default="docs/gpt_shakespeare_char_curve.png")
    args = parser.parse_args()
    logs = os.path.join(args.run_dir, "logs")
    # Validation scalars are logged at the optimizer step of each evaluation (docs/tensorboard.md); the
    # training loss averaged over each evaluation interval is history.csv's `loss` column.
    valid = read_scalars(os.path.join(logs, "validation"), "loss")
    perplexity = read_scalars(os.path.join(logs, "validation"), "perplexity")
    with open(os.path.join(args.run_dir, "history.csv"), newline="") as handle:
        train = [(int(row["epoch"]), float(row["loss"])) for row in csv.DictReader(handle)]
    steps = [step for step, _ in valid]
    print("| step | train loss | val loss | val perplexity |")
    print("|---|---|---|---|")
    for step, (_, t), (_, v), (_, p) in zip(steps, train, valid, perplexity):
        print(f"| {step} | {t:.4f} | {v:.4f} | {p:.3f} |")
    figure, axis = plt.subplots(figsize=(6, 4), constrained_layout=True)
    axis.plot(steps, [t for _, t in train], marker="o", label="train loss (mean over interval)")
    axis.plot(steps, [v for _, v in valid], marker="o", label="validation loss")
    axis.axhline(1.88, color="gray", linestyle="--", label="nanoGPT CPU baby GPT, val 1.88")
    axis.set_xlabel("step")
    axis.set_ylabel("cross-entropy (nats/char)")
    axis.set_title(os.path.basename(os.path.normpath(args.run_dir)))
    axis.legend()
    figure.savefig(args.output, dpi=110)
    print(f"\nsaved {args.output}")


if __name__ == "__main__":
    main()
