"""Recipe files: ``keras_llm/runs/recipes/<name>.yaml``, and the bundled corpora they train on.

The corpora live in the repository's ``data/`` folder; a wheel carries them as
``keras_llm/bundled_data`` (setup.py copies them at build time), so an installed ``keras-llm``
runs its own recipes without the checkout.
"""

import copy
import importlib.resources
import os

import yaml

from keras_llm.errors import UserInputError

_HERE = os.path.dirname(os.path.abspath(__file__))


def list_recipes():
    """Names of the bundled recipes."""
    return sorted(f[:-5] for f in os.listdir(_HERE) if f.endswith(".yaml"))


def load_recipe(name):
    """The recipe ``name`` as a dict (a fresh copy each call)."""
    path = os.path.join(_HERE, f"{name}.yaml")
    if not os.path.isfile(path):
        raise UserInputError(f"unknown recipe {name!r}; known recipes: {', '.join(list_recipes())}")
    with open(path, encoding="utf-8") as handle:
        return copy.deepcopy(yaml.safe_load(handle))


def bundled_data_dir():
    """The bundled corpora: ``keras_llm/bundled_data`` in an installed wheel, else the checkout's ``data/``."""
    installed = importlib.resources.files("keras_llm") / "bundled_data"
    if installed.is_dir():
        return os.fspath(installed)
    return os.path.normpath(os.path.join(_HERE, "..", "..", "..", "data"))


def bundled_data_file(relative_path):
    """The path of a recipe's bundled data file, or one line saying how to get it.

    Absolute paths are returned unchanged. Example: ``bundled_data_file("tiny_shakespeare/input.txt")``.
    """
    if os.path.isabs(relative_path):
        return relative_path
    path = os.path.join(bundled_data_dir(), relative_path)
    if not os.path.exists(path):
        raise UserInputError(
            f"bundled data file {relative_path} is not in this installation ({bundled_data_dir()}); install "
            f"keras-llm from a wheel built from the repository (it carries data/), or give your own file")
    return path
