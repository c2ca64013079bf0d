"""Argument checks shared by the zoo's entry points (one-line UserInputError on bad values)."""

import numpy as np

from keras_llm.errors import UserInputError


def parse_model_names(models, known):
    """``"gpt,lstm"`` or a sequence of names → a tuple of distinct names from ``known``."""
    names = models.split(",") if isinstance(models, str) else list(models)
    names = [str(name).strip().lower() for name in names if str(name).strip()]
    if not names:
        raise UserInputError(f"no models given; choose from {','.join(known)}")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UserInputError(f"unknown model {unknown[0]!r}; choose from {','.join(known)}")
    return tuple(dict.fromkeys(names))


def positive_int(name, value):
    """``value`` as an int, if it is a positive integer (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise UserInputError(f"{name} must be a positive integer; got {value!r}")
    return int(value)
