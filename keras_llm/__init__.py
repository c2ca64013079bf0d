"""keras-llm: a TensorFlow/Keras model zoo of language models.

Importing the package selects the TensorFlow backend for Keras (unless the user already
chose one), since the tokenizers, data pipelines and exports are TensorFlow graphs.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from keras_llm._quiet import silenced_stderr  # noqa: E402

# Only the import: starting the runtime here would stop users from configuring devices after
# `import keras_llm` (the CLI starts it quietly itself).
if "tensorflow" not in sys.modules:
    with silenced_stderr():
        import tensorflow  # noqa: F401

__version__ = "0.1.0"

# Register the serializable layers and model pieces, so `keras.models.load_model("x.keras")`
# works after a plain `import keras_llm`.
from keras_llm import layers, models  # noqa: E402, F401
