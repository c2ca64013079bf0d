"""`keras-llm quantize`: a trained run → a new run whose models are int8 (post-training quantization).

The new run directory holds the original's ``run.json`` (with ``quantization: {mode, from}`` added),
its tokenizer(s), ``cli_options.json`` and ``history.csv``, and ``best.keras`` / ``final.keras`` made
from the original's ``best.keras`` (what `evaluate`, `predict` and `export` use) by
:func:`keras_llm.models.quantization.quantize_model`. Every command that reads a run reads it as it
reads the float one (:func:`keras_llm.runs.layout.load_keras_model` recognises an int8 file), so its
exports are int8 too. The metrics files of the original are left behind: they describe the float model.

Example:
    >>> quantize_run("runs/minilm-sentiment")          # → runs/minilm-sentiment-int8
"""

import json
import os
import shutil

import numpy as np

from keras_llm.errors import UserInputError
from keras_llm.files import atomic_directory
from keras_llm.models.quantization import QUANTIZATION_MODES, quantization_mode, quantize_model
from keras_llm.runs.layout import RUN_FILE, load_run_model, read_run_info
from keras_llm.runs.lifecycle import FINISHED, STOPPED, run_state
from keras_llm.training.run_callbacks import run_paths

# What a quantized run takes from its source besides the models (tokenizer folders are found by name).
_CARRIED_FILES = ("cli_options.json", "history.csv")


def default_quantized_dir(run_dir, mode):
    """``<run_dir>-<mode>`` beside the source run."""
    return f"{os.path.normpath(run_dir)}-{mode}"


def quantize_run(run_dir, output_dir=None, mode="int8", log=print):
    """Write a quantized copy of the finished run ``run_dir`` to ``output_dir``; returns ``output_dir``.

    Raises:
        UserInputError: an unknown mode, a run that is not finished, a run that is already quantized,
            or an output directory that exists.
    """
    if mode not in QUANTIZATION_MODES:
        raise UserInputError(f"quantization mode {mode!r} is not supported; use one of {', '.join(QUANTIZATION_MODES)}")
    info = read_run_info(run_dir)
    if info.get("quantization"):
        raise UserInputError(f"{run_dir} is already quantized ({info['quantization']['mode']}, from "
                             f"{info['quantization']['from']}); quantize the float run instead")
    if run_state(run_dir) != FINISHED and info.get("status") != STOPPED:
        raise UserInputError(f"{run_dir} has not finished training; quantize a finished run")
    output_dir = output_dir or default_quantized_dir(run_dir, mode)
    if os.path.exists(output_dir):
        raise UserInputError(f"{output_dir} already exists; give another --output")
    model = load_run_model(run_dir, "best")
    if quantization_mode(model):  # a run.json without the record (copied by hand, or from before it)
        raise UserInputError(f"{run_dir} is already quantized ({quantization_mode(model)}); quantize the float run")
    float_bytes = weight_bytes(model)
    quantize_model(model, mode)
    with atomic_directory(output_dir) as folder:
        for name in sorted(os.listdir(run_dir)):
            source = os.path.join(run_dir, name)
            if os.path.isdir(source) and name.endswith("tokenizer"):
                shutil.copytree(source, os.path.join(folder, name))
            elif name in _CARRIED_FILES:
                shutil.copy2(source, os.path.join(folder, name))
        paths = run_paths(folder)
        model.save(paths["best"])
        shutil.copy2(paths["best"], paths["final"])
        record = {**info, "quantization": {"mode": mode, "from": os.path.abspath(run_dir)}}
        with open(os.path.join(folder, RUN_FILE), "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2)
    int8_bytes = weight_bytes(model)
    log(f"{mode}: {run_dir} → {output_dir}: weights {float_bytes / 1e6:.1f} MB → {int8_bytes / 1e6:.1f} MB "
        f"({float_bytes / int8_bytes:.2f}x smaller; embeddings and norms stay float32)")
    return output_dir


def weight_bytes(model):
    """Bytes of ``model``'s variables (a run's best.keras also holds the optimizer's, so its size would mislead)."""
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in model.weights)
