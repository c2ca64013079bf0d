"""Post-training int8 quantization of a built model, and loading a quantized ``.keras`` file back.

:func:`quantize_model` is Keras' own ``model.quantize("int8")`` restricted to the projections
(``Dense``/``EinsumDense``): per-output-channel int8 kernels with float scales, activations
quantized per row at run time. Embedding tables (ours, tied to GPT's output layer) stay float32.

Keras cannot reload such a model by itself: our layers (attention, feed-forward) create their
projections in ``__init__`` with the parent's float dtype policy, so the ``.keras`` config of a
nested projection does not say it was quantized, and ``load_model`` fails on the extra
``kernel_scale`` variable. :func:`load_quantized_model` rebuilds the model from its config (safe
mode), quantizes the same projections (still float) and loads the saved int8 weights into them.

Example:
    >>> quantize_model(model)                      # in place
    >>> model.save("int8.keras")
    >>> reloaded = load_quantized_model("int8.keras")
"""

import json
import warnings
import zipfile

import h5py
import keras

from keras_llm.errors import UserInputError

QUANTIZATION_MODES = ("int8",)
_PROJECTION_TYPES = (keras.layers.Dense, keras.layers.EinsumDense)


def quantization_mode(model):
    """``"int8"`` (or another Keras mode) when any projection of ``model`` is quantized, else None."""
    for layer in model._flatten_layers(include_self=False, recursive=True):  # noqa: SLF001  (Keras has no public walk)
        if isinstance(layer, _PROJECTION_TYPES) and layer.quantization_mode:
            return layer.quantization_mode
    return None


def _projections(mode=None):
    """Keras' ``quantize`` filter: projections whose quantization mode is ``mode`` (None = still float)."""
    return lambda layer: isinstance(layer, _PROJECTION_TYPES) and layer.quantization_mode == mode


def quantize_model(model, mode="int8"):
    """Quantize ``model``'s projections in place (Keras ``model.quantize(mode)``); returns ``model``.

    Raises:
        UserInputError: an unknown mode, or a model that is already quantized.
    """
    if mode not in QUANTIZATION_MODES:
        raise UserInputError(f"quantization mode {mode!r} is not supported; use one of {', '.join(QUANTIZATION_MODES)}")
    already = quantization_mode(model)
    if already:
        raise UserInputError(f"model {model.name!r} is already quantized ({already}); quantize the float run instead")
    if not any(_projections()(layer) for layer in model._flatten_layers(include_self=False)):  # noqa: SLF001
        raise UserInputError(f"model {model.name!r} has no Dense or EinsumDense layers to quantize")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns once per layer type it leaves float
        model.quantize(mode, filters=_projections())
    return model


def _policy_modes(config):
    """Every ``QuantizedDTypePolicy`` mode named anywhere in a serialized Keras config."""
    if isinstance(config, dict):
        if config.get("class_name") == "QuantizedDTypePolicy":
            yield config.get("config", {}).get("mode")
        for value in config.values():
            yield from _policy_modes(value)
    elif isinstance(config, list):
        for value in config:
            yield from _policy_modes(value)


def _saved_config(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def _has_int8_weights(archive):
    """Whether the weights of an open ``.keras`` archive hold an int8 array (only quantization makes one)."""
    found = []
    with archive.open("model.weights.h5") as handle, h5py.File(handle, "r") as weights:
        weights.visititems(lambda name, item: found.append(name) if getattr(item, "dtype", None) == "int8" else None)
    return bool(found)


def saved_quantization_mode(path):
    """The quantization mode of a ``.keras`` file, or None for a float model.

    A top-level projection's dtype policy names it in the config; a model whose projections are all nested
    (a GPT: its output layer is the tied embedding) says nothing there, and its int8 kernels tell.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            mode = next((found for found in _policy_modes(json.loads(archive.read("config.json"))) if found), None)
            return mode or ("int8" if _has_int8_weights(archive) else None)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def load_quantized_model(path, mode=None):
    """Load a ``.keras`` file written from a :func:`quantize_model` model (Keras safe mode, uncompiled)."""
    config = _saved_config(path)
    mode = mode or saved_quantization_mode(path)
    model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.quantize(mode, filters=_projections())  # the nested projections the config left float
    model.load_weights(path)
    return model
