"""What an interrupted run left behind: completed epochs (Keras' backup) and the logged history.

``keras.callbacks.BackupAndRestore`` restores the weights, the optimizer state and the epoch
counter, but not the position in an endless input stream nor what the best checkpoint has
seen so far. These helpers let a resumed run take up both, so a run killed mid-epoch and
resumed ends with the same weights as one that never stopped.

Example:
    >>> epochs_done = completed_epochs("runs/x/backup")      # 0 for a fresh run
    >>> train = train.skip(epochs_done * steps_per_epoch)
"""

import csv
import json
import math
import os


def completed_epochs(backup_dir):
    """Epochs finished before the last interruption, from BackupAndRestore's metadata (0 if none)."""
    path = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.isfile(path):
        return 0
    with open(path, encoding="utf-8") as handle:
        return int(json.load(handle).get("epoch", 0))


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
