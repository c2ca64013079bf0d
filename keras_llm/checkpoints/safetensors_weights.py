"""Reading ``model.safetensors`` with safetensors' numpy API and copying tensors into Keras variables.

Shared by the BERT and GPT-2 imports. Pickle-based files (``pytorch_model.bin``, ``*.pt``,
``*.ckpt``) can run arbitrary code when loaded, so they are refused with a message saying how to
convert them.
"""

import os

import numpy as np
from safetensors.numpy import load_file

from keras_llm.errors import UserInputError

PICKLE_FILES = ("pytorch_model.bin", "model.pt", "model.ckpt", "pytorch_model.pt")


def read_safetensors(directory):
    """``{name: numpy array}`` of ``directory/model.safetensors``; a pickle file instead is refused.

    Example:
        >>> read_safetensors("gpt2")["wte.weight"].shape
        (50257, 768)
    """
    path = os.path.join(directory, "model.safetensors")
    if not os.path.isfile(path):
        pickled = [name for name in PICKLE_FILES if os.path.isfile(os.path.join(directory, name))]
        if pickled:
            raise UserInputError(
                f"refusing to load {pickled[0]} in {directory}: pickle files can run arbitrary code; "
                "convert it to model.safetensors first")
        raise UserInputError(f"no model.safetensors in {directory}")
    try:
        return load_file(path)
    except Exception as error:  # safetensors raises its own error types for a damaged file
        raise UserInputError(f"cannot read {path}: {error}") from None


def assign(variable, value, name):
    """``variable.assign(value)`` as float32, refusing a shape that differs (names the weight)."""
    value = np.asarray(value, dtype="float32")
    if tuple(variable.shape) != value.shape:
        raise UserInputError(f"weight {name}: checkpoint shape {value.shape} != model shape {tuple(variable.shape)}")
    variable.assign(value)


def load_norm(norm, tensors, prefix):
    """A ``LayerNormalization`` from ``<prefix>.weight`` and ``<prefix>.bias``."""
    try:
        gamma, beta = tensors[f"{prefix}.weight"], tensors[f"{prefix}.bias"]
    except KeyError as missing:
        raise UserInputError(f"model.safetensors lacks {missing.args[0]}") from None
    assign(norm.gamma, gamma, f"{prefix}.weight")
    assign(norm.beta, beta, f"{prefix}.bias")
