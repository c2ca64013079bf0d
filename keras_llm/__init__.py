"""keras-llm: a TensorFlow/Keras model zoo of language models.

Importing the package selects the TensorFlow backend for Keras (unless the user already
chose one), since the tokenizers, data pipelines and exports are TensorFlow graphs.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _load_tensorflow_quietly():
    """Import TensorFlow and start its runtime with file descriptor 2 pointed at /dev/null.

    While its C++ libraries load, TensorFlow 2.21 writes absl INFO lines (oneDNN notes, "Could
    not find cuda drivers", cuInit failures on machines without a GPU) straight to stderr, before
    TF_CPP_MIN_LOG_LEVEL applies. Loading it quietly keeps a `keras-llm` error to the one line
    we print. Python-level import errors still raise, once stderr is back. Skipped when
    TensorFlow is already loaded (or KERAS_LLM_VERBOSE_IMPORT is set).
    """
    if "tensorflow" in sys.modules or os.environ.get("KERAS_LLM_VERBOSE_IMPORT"):
        return
    try:
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no usable stderr descriptor (some embedded interpreters): nothing to hide
        return
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_logical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_load_tensorflow_quietly()

__version__ = "0.1.0"

# Register the serializable layers and model pieces, so `keras.models.load_model("x.keras")`
# works after a plain `import keras_llm`.
from keras_llm import layers, models  # noqa: E402, F401
