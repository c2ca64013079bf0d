"""What `keras-llm evaluate` and `predict` share across tasks: batching a stream, the output-file check,
the training step the evaluation is logged at (an output folder is checked by
:func:`keras_llm.evaluation.prediction_files.check_writable_directory`).

Example:
    >>> for batch in batches(reader.rows(), 64):
    ...     ...
"""

import itertools
import os

from keras_llm.errors import UserInputError
from keras_llm.training.run_callbacks import run_paths


def batches(items, size):
    """Lists of up to ``size`` consecutive items of the iterable ``items`` (only one batch in memory)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def check_output_file(input_file, output_file):
    """Refuse writing the predictions over the file being read (it would be replaced by them)."""
    if os.path.exists(output_file) and os.path.samefile(input_file, output_file):
        raise UserInputError(f"--output {output_file} is the --input file; write the predictions to another file")
    if os.path.isdir(output_file):
        raise UserInputError(f"--output {output_file} is a directory; give a file name")
    folder = os.path.dirname(os.path.abspath(output_file))
    while not os.path.exists(folder):  # the nearest existing folder above (the missing ones are created)
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise UserInputError(f"cannot write {output_file}: {folder} is a file, not a folder")


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
