"""``--models`` lists of the comparisons: names checked against the known ones (one-line UserInputError)."""

from keras_llm.checks import positive_int  # noqa: F401  (keras_llm.zoo.checks, its old home, exported it)
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
