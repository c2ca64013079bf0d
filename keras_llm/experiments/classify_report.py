"""The classifier comparison's outputs: ``report.md`` (table, models, settings) and ``report.png``.

``record`` is the dict of settings written to ``results.json``; ``results`` its list of rows
(``model``, ``params``, ``train_seconds``, ``epochs_run``, ``accuracy``, ``macro_f1``).
"""

import os
import platform

import keras
import numpy as np
import tensorflow as tf

from keras_llm.experiments.classify_runs import BOW_LEARNING_RATE, BOW_MAX_TOKENS, RNN_LEARNING_RATE

DESCRIPTIONS = {
    "bert": "small BERT from scratch (WordPiece)",
    "bilstm": "bidirectional LSTM over word ids",
    "gru": "GRU over word ids",
    "bow": "logistic regression on uni+bigram TF-IDF",
}


def _settings_lines(record, validation_fraction):
    split = (f"validation file {record['valid']}" if record["valid"]
             else f"stratified {validation_fraction:.0%} of the training file (seed {record['seed']})")
    return [f"- command: `{record['command']}`",
            f"- split: {split}",
            f"- budget: at most {record['epochs']} epochs each, batch size {record['batch_size']}, early "
            f"stopping on validation loss (patience {record['patience']}, best weights restored)",
            f"- max length: {record['max_length']} tokens; hidden/embedding width {record['hidden_dim']}; "
            f"BERT {record['bert_layers']} layers, WordPiece vocabulary {record['bert_vocab_size']}",
            "- optimizers: BERT AdamW 1e-3 (warm-up 50 steps, linear decay); RNNs Adam "
            f"{RNN_LEARNING_RATE:g}; bag-of-n-grams Adam {BOW_LEARNING_RATE:g} "
            f"(TF-IDF over at most {BOW_MAX_TOKENS:,} uni+bigrams)",
            "- train s: tokenizer/vocabulary training plus `fit` (validation each epoch included)",
            f"- XLA: {'on' if record['jit_compile'] else 'off'}; seed {record['seed']}",
            f"- software: Python {platform.python_version()}, TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}; {os.cpu_count()} CPU cores"]


def render_report(results, record, validation_fraction):
    """``report.md``: the table, then the settings (``validation_fraction``: of the split, when it was made)."""
    lines = ["# Text classifiers compared", "",
             f"{record['train_examples']} training / {record['valid_examples']} validation texts, "
             f"{len(record['labels'])} classes ({', '.join(record['labels'][:10])}); "
             "scores on the validation texts.", "",
             "| model | params | train s | epochs run | accuracy | macro-F1 |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['model']} | {r['params']:,} | {r['train_seconds']:.1f} | {r['epochs_run']} | "
                     f"{r['accuracy']:.4f} | {r['macro_f1']:.4f} |")
    lines += ["", "## Models", ""] + [f"- **{name}**: {DESCRIPTIONS[name]}" for name in record["models"]]
    lines += ["", "## Settings", ""] + _settings_lines(record, validation_fraction) + [""]
    return "\n".join(lines)


def plot_scores(results, path):
    """Grouped bars: accuracy and macro-F1 per model."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1.6 + 1.4 * len(results), 4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    positions = np.arange(len(results))
    for offset, key, label in ((-0.2, "accuracy", "accuracy"), (0.2, "macro_f1", "macro-F1")):
        values = [r[key] for r in results]
        bars = axes.bar(positions + offset, values, width=0.4, label=label)
        axes.bar_label(bars, fmt="%.3f", fontsize=8)
    axes.set_xticks(positions, [r["model"] for r in results])
    axes.set_ylim(0, 1.15)
    axes.set_ylabel("validation score")
    axes.set_title("text classifiers on one split")
    axes.legend(loc="upper center", ncol=2)
    axes.grid(axis="y", alpha=0.3)
    figure.savefig(path, dpi=100)
