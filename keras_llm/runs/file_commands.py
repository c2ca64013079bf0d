"""What `keras-llm evaluate` and `predict` share across tasks: batching a stream and the training step the
evaluation is logged at (output files and folders are checked by
:mod:`keras_llm.evaluation.prediction_files`).

Example:
    >>> for batch in batches(reader.rows(), 64):
    ...     ...
"""

import itertools
import os

from keras_llm.training.run_callbacks import run_paths


def batches(items, size):
    """Lists of up to ``size`` consecutive items of the iterable ``items`` (only one batch in memory)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def trained_epochs(run_dir):
    """How many epochs ``history.csv`` records (the TensorBoard step of an evaluation; 0 without one)."""
    path = run_paths(run_dir)["history"]
    if not os.path.isfile(path):
        return 0
    with open(path, encoding="utf-8") as handle:
        return max(0, sum(1 for line in handle if line.strip()) - 1)


def batch_size_of(run_info, batch_size):
    """The ``--batch-size`` given, else the run's evaluation batch size (64 when it has none)."""
    training = run_info.get("training", {})
    return int(batch_size or training.get("eval_batch_size") or training.get("batch_size") or 64)
