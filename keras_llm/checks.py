"""Value checks shared by configs, builders and entry points (one-line UserInputError)."""

import numpy as np

from keras_llm.errors import UserInputError

# Models and decoding compute in float32 (or less): a larger number would become infinity there.
FLOAT32_MAX = 3.4028234663852886e38


def positive_int(name, value):
    """``value`` as an int, if it is a positive integer (not a bool); ``name`` goes into the message."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise UserInputError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def dropout_rate(name, value):
    """``value`` if it is a valid dropout rate, in [0, 1)."""
    if not 0.0 <= value < 1.0:
        raise UserInputError(f"{name} must be in [0, 1); got {value}")
    return value
