"""Where `keras-llm evaluate` puts its numbers: ``metrics.json``, the run's TensorBoard, stdout.

Every task's evaluation ends with :func:`write_evaluation`: the metrics (a JSON-able dict whose
top-level numbers are the headline scores) go to ``<output_dir>/metrics.json`` (atomically), the
headline numbers to the run's TensorBoard as scalars tagged ``evaluate/<name>`` (run
``evaluate`` under ``<run_dir>/logs``, so they sit beside the training curves), and the human
report to stdout.

Example:
    >>> write_evaluation("runs/x", "runs/x/evaluation/test", {"accuracy": 0.91, "per_class": {...}},
    ...                  report_text, step=1200)
"""

import json
import math
import os

from keras_llm.files import atomic_write_text, one_line_write_errors


def default_output_dir(run_dir, test_file):
    """``<run_dir>/evaluation/<test file name without extension>``."""
    stem = os.path.splitext(os.path.basename(os.path.normpath(test_file)))[0] or "test"
    return os.path.join(run_dir, "evaluation", stem)


def headline_scalars(metrics):
    """The top-level finite numbers of ``metrics`` (nested tables are for metrics.json only)."""
    return {name: float(value) for name, value in metrics.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)}


def log_to_tensorboard(run_dir, metrics, step=0):
    """Write the headline scalars under ``evaluate/<name>`` to ``<run_dir>/logs/evaluate``."""
    import tensorflow as tf

    log_dir = os.path.join(run_dir, "logs", "evaluate")
    with one_line_write_errors(log_dir):
        writer = tf.summary.create_file_writer(log_dir)
        with writer.as_default():
            for name, value in headline_scalars(metrics).items():
                tf.summary.scalar(f"evaluate/{name}", value, step=step)
        writer.close()


def write_evaluation(run_dir, output_dir, metrics, report_text, step=0, log=print):
    """Save ``metrics.json`` in ``output_dir``, log the headline scalars to TensorBoard, print the report."""
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, "metrics.json")
    atomic_write_text(path, json.dumps(metrics, indent=2, sort_keys=True, allow_nan=False) + "\n")
    log_to_tensorboard(run_dir, metrics, step=step)
    log(report_text.rstrip("\n"))
    log(f"metrics: {path}")
    return path
