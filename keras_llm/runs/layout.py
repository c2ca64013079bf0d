"""``run.json``: what a run directory holds (recipe, model kind, settings), and loading a trained run.

The folder layout itself (run.json, tokenizer/, best.keras, final.keras, backup/, history.csv, logs/)
is defined once, by :func:`keras_llm.training.run_callbacks.run_paths`, because the training floor
writes most of it; this module reads and names it through that function.
"""

import hashlib
import json
import os

import keras

from keras_llm.errors import UserInputError
from keras_llm.files import atomic_write_text, read_json_object
from keras_llm.models.quantization import load_quantized_model, saved_quantization_mode
from keras_llm.tokenizers import load_tokenizer
from keras_llm.training.backup import failpoint
from keras_llm.training.run_callbacks import RUN_FILE, run_paths  # noqa: F401  (RUN_FILE re-exported)


def default_run_dir(recipe_name):
    """Where a run of ``recipe_name`` goes when no run directory is given: ``runs/<recipe>``."""
    return os.path.join("runs", recipe_name)


def read_run_info(run_dir, expected_model=None):
    """The parsed ``run.json`` of ``run_dir``; checks the model kind when ``expected_model`` is given."""
    path = os.path.join(run_dir, RUN_FILE)
    if not os.path.isfile(path):
        raise UserInputError(f"{run_dir} is not a keras-llm run directory (no {RUN_FILE})")
    info = read_json_object(path)
    if expected_model and info.get("model") != expected_model:
        raise UserInputError(f"{run_dir} holds a {info.get('model')!r} run, not a {expected_model!r} run")
    return info


def read_run_info_if_any(run_dir):
    """The parsed ``run.json`` of ``run_dir``, or ``None`` when there is none yet."""
    path = os.path.join(run_dir, RUN_FILE)
    return read_json_object(path) if os.path.isfile(path) else None


def steps_trained(run_dir, planned):
    """The optimizer steps the run has taken (run.json's ``trained.steps``; ``planned`` before it is written)."""
    return ((read_run_info_if_any(run_dir) or {}).get("trained") or {}).get("steps", planned)


def data_fingerprint(*paths):
    """SHA-256 over the contents of the data files a run reads (``None`` entries skipped)."""
    digest = hashlib.sha256()
    for path in paths:
        if path:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def check_resumed_data(run_dir, *paths):
    """The fingerprint of the data files ``paths``, for run.json's ``data_sha256``.

    A resumed run must read the data it started with; a file changed since is refused in one line.
    """
    fingerprint = data_fingerprint(*paths)
    recorded = (read_run_info_if_any(run_dir) or {}).get("data_sha256")
    if recorded and recorded != fingerprint:
        raise UserInputError(f"the data files of {run_dir} changed since the run started (SHA-256 differs); "
                             f"resuming would not continue the same run: restore them or start a new run directory")
    return fingerprint


def runtime_record():
    """How this process trains: ``{"strategy", "replicas", "precision"}`` of the strategy scope and Keras dtype
    policy in force (run.json's ``runtime``; the CLI enters both before a task writes its run record)."""
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    return {"strategy": type(strategy).__name__.lstrip("_"), "replicas": int(strategy.num_replicas_in_sync),
            "precision": keras.config.dtype_policy().name}


def write_run_info(run_dir, info):
    """Write ``run.json`` atomically, with the :func:`runtime_record`; a run being written is "in progress"
    until the lifecycle finishes it."""
    record = {"status": "in progress", **info, "runtime": runtime_record()}
    atomic_write_text(os.path.join(run_dir, RUN_FILE), json.dumps(record, indent=2))
    failpoint("run-written")  # test hook: stop once the run record exists (tests/cli/test_every_train_flag.py)


def load_trained_run(run_dir, expected_model, which="best"):
    """``(model, tokenizer, run_info)``: ``<which>.keras`` (else ``final.keras``) and ``tokenizer/``."""
    info = read_run_info(run_dir, expected_model=expected_model)
    return load_run_model(run_dir, which), load_tokenizer(run_paths(run_dir)["tokenizer"]), info


def load_run_model(run_dir, which="best"):
    """The run's ``<which>.keras`` ("best" or "final"; falls back to ``final.keras``), loaded safely."""
    paths = run_paths(run_dir)
    path = paths[which]
    if not os.path.isfile(path):
        path = paths["final"]
    if not os.path.isfile(path):
        raise UserInputError(f"{run_dir} has no trained model yet ({which}.keras is missing)")
    return load_keras_model(path)


def load_keras_model(path):
    """Load a ``.keras`` file without running code from it (Keras' ``safe_mode``), uncompiled.

    A file that would need to deserialize Python code (a ``Lambda`` layer's bytecode) is refused
    with one clear line instead of being executed.
    """
    try:
        if saved_quantization_mode(path):  # `keras-llm quantize` output: Keras cannot reload it alone
            return load_quantized_model(path)
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except ValueError as error:
        if "safe_mode" in str(error) or "unsafe" in str(error).lower():
            raise UserInputError(f"{path} contains Python code (e.g. a Lambda layer); keras-llm loads models "
                                 f"with Keras safe_mode on and will not run it") from None
        raise
