"""What a resumed run does to the logs of the epoch it is about to train again.

The backup is the last thing written at an epoch's end (:mod:`keras_llm.training.backup`), so an
epoch is either backed up with its ``history.csv`` row and TensorBoard events, or it will be
trained again on resume. Before it is, its row and its events (written after the backup the run
resumes from) are removed, so every epoch appears exactly once in ``history.csv`` and TensorBoard.

Example:
    >>> trim_history("runs/x/history.csv", epochs=3)              # keep the rows of epochs 0, 1, 2
    >>> trim_tensorboard_events("runs/x/logs", after_time=backup.resumed_time)
"""

import csv
import io
import math
import os

import tensorflow as tf

from keras_llm.files import atomic_file_path, atomic_output


def trim_history(history_csv, epochs):
    """Keep the header and the complete rows of epochs ``0 .. epochs-1`` of a CSVLogger file."""
    if not os.path.isfile(history_csv):
        return
    with open(history_csv, newline="", encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]  # a row cut short by the kill
    rows = list(csv.reader(io.StringIO("".join(lines))))
    if not rows:
        return
    header, kept = rows[0], []
    for row in rows[1:]:
        if len(row) == len(header) and row[0].isdigit() and int(row[0]) < epochs:
            kept.append(row)
    if len(kept) == len(rows) - 1 and "".join(lines) == text:
        return
    with atomic_output(history_csv, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(kept)


def trim_tensorboard_events(log_dir, after_time):
    """Drop the events written after ``after_time`` (a ``time.time()``) from every event file under ``log_dir``."""
    if after_time is None or not os.path.isdir(log_dir):
        return
    for folder, _, names in os.walk(log_dir):
        for name in names:
            if "tfevents" in name and not name.startswith("."):
                _trim_event_file(os.path.join(folder, name), after_time)


def _trim_event_file(path, after_time):
    records, dropped = [], False
    try:
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            if event.wall_time > after_time:
                dropped = True
            else:
                records.append(record.numpy())
    except tf.errors.DataLossError:
        dropped = True  # a record cut short by the kill
    if not dropped:
        return
    with atomic_file_path(path) as tmp_path, tf.io.TFRecordWriter(tmp_path) as writer:
        for record in records:
            writer.write(record)


def best_logged(history_csv, key, mode="min"):
    """The best ``key`` value in a CSVLogger file, or ``None`` when there is none yet."""
    if not os.path.isfile(history_csv):
        return None
    with open(history_csv, newline="", encoding="utf-8") as handle:
        values = [float(row[key]) for row in csv.DictReader(handle) if row.get(key) not in (None, "")]
    values = [value for value in values if math.isfinite(value)]
    if not values:
        return None
    return min(values) if mode == "min" else max(values)


def logged_history(history_csv):
    """``{metric: [value per epoch]}`` of the whole run from history.csv, the epochs before a resume
    included (Keras' ``History`` only holds the epochs of the current ``fit`` call)."""
    if not os.path.isfile(history_csv):
        return {}
    with open(history_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [_number(row[key]) for row in rows] for key in (rows[0] if rows else {}) if key != "epoch"}


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return text
