"""Recipe files: ``keras_llm/runs/recipes/<name>.yaml``."""

import copy
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
    """The repository's ``data/`` folder (bundled corpora), next to the package."""
    return os.path.normpath(os.path.join(_HERE, "..", "..", "..", "data"))
