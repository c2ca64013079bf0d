"""The language-model comparison's outputs: ``report.md``, ``report.png`` and ``results.json``.

``record`` below is the dict of settings written to ``results.json`` (and listed in the report);
``results`` are :class:`~keras_llm.experiments.lm_runs.ModelResult` rows.
"""

import dataclasses
import json
import math
import os
import time

from keras_llm.files import atomic_output


def _number(value, digits=4):
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _perplexity(loss):
    return math.exp(loss) if math.isfinite(loss) and loss < 700 else math.inf


def _table(results):
    lines = ["| model | params | train time (s) | steps | steps/s | val loss | val perplexity | "
             "val loss (all val tokens) | val perplexity (all val tokens) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        steps_per_second = r.steps / r.train_seconds if r.steps else None
        lines.append(
            f"| {r.name} | {r.params:,} | {r.train_seconds:.1f} | {r.steps if r.steps else '—'}"
            f"{' (time limit)' if r.stopped_by_time else ''} | {_number(steps_per_second, 2)} | "
            f"{_number(r.val_loss)} | "
            f"{_number(_perplexity(r.val_loss), 2)} | {_number(r.val_loss_all)} | "
            f"{_number(_perplexity(r.val_loss_all), 2)} |")
    return lines


def _definitions(record):
    return ["Losses are cross-entropies in nats per token on the held-out last 10% of the corpus; "
            "perplexity = exp(loss).", "",
            f"- **val loss**: the trainer's final evaluation, {record['eval_batches']} batches × "
            f"{record['batch_size']} fixed random windows of {record['sequence_length']} tokens (every position "
            "scored); the n-gram model is scored on the same windows, context limited to each window.",
            "- **val loss (all val tokens)**: every validation token after the first scored once; neural models "
            f"read consecutive non-overlapping windows of {record['sequence_length']} tokens (the context restarts "
            "at each window), the n-gram model its last N−1 tokens.",
            "- **params**: trainable parameters (tied embeddings once); for the n-gram model, the number of "
            "stored n-gram counts (distinct n-grams of orders 1..N).",
            "- **train time**: wall time of training, including graph tracing/compilation, evaluations and "
            "checkpoints; for the n-gram model, counting time. steps/s = steps / train time."]


def render_report(results, record):
    """The markdown text of report.md."""
    budget = f"{record['steps']} steps" if record["steps"] else f"{record['minutes']:g} minutes"
    lines = [f"# Language-model comparison: {os.path.basename(record['corpus'])}, {record['tokenizer']} "
             f"tokens, {budget}", ""]
    lines += _table(results) + [""] + _definitions(record)
    lines += ["", "![validation loss vs steps and wall time](report.png)", "", "## Settings", "",
              f"Command: `{record['command']}`", ""]
    lines += [f"- {key}: {json.dumps(value, ensure_ascii=False)}" for key, value in record.items() if key != "command"]
    lines += ["", "## Models", ""]
    lines += [f"- **{r.name}**: `{json.dumps(r.config)}`" for r in results]
    lines += ["", "## Samples", "",
              f"{record['sample_tokens']} tokens per model after the prompt {json.dumps(record['prompt'])}, plain "
              f"sampling at temperature {record['temperature']}, seed {record['seed']}.", ""]
    for r in results:
        lines += [f"### {r.name}", "", "````text", record["prompt"] + r.sample, "````", ""]
    return "\n".join(lines)


def plot_curves(results, path):
    """Validation loss vs steps and vs wall time, one line per model (the n-gram model as a horizontal line)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    by_steps, by_time = figure.subplots(1, 2)
    for r in results:
        if r.curve_steps:
            by_steps.plot(r.curve_steps, r.curve_losses, marker="o", markersize=3, label=r.name)
            by_time.plot(r.curve_seconds, r.curve_losses, marker="o", markersize=3, label=r.name)
        else:
            for axes in (by_steps, by_time):
                axes.axhline(r.val_loss, color="gray", linestyle="--", label=f"{r.name} (no steps)")
    for axes, label in ((by_steps, "optimizer steps"), (by_time, "wall time since training start (s)")):
        axes.set_xlabel(label)
        axes.set_ylabel("validation loss (nats/token)")
        axes.grid(alpha=0.3)
        axes.legend()
    by_steps.set_title("validation loss vs steps")
    by_time.set_title("validation loss vs wall time")
    figure.savefig(path, dpi=100)


def write_report(out_dir, results, record, began):
    """Write report.png, report.md and results.json; ``record["total_seconds"]`` is the time since ``began``.

    Returns:
        ``{"report": path of report.md, "plot": path of report.png}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {"report": os.path.join(out_dir, "report.md"), "plot": os.path.join(out_dir, "report.png")}
    plot_curves(results, paths["plot"])
    record["total_seconds"] = round(time.perf_counter() - began, 1)
    with atomic_output(paths["report"]) as f:
        f.write(render_report(results, record))
    with atomic_output(os.path.join(out_dir, "results.json")) as f:
        json.dump({"settings": record, "results": [dataclasses.asdict(r) for r in results]}, f, indent=1)
    return paths
