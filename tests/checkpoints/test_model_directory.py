"""resolve_model_directory: a Hugging Face directory, or ``package:<module>`` (its get_model_path())."""

import pathlib
import sys
import types

import pytest

from keras_llm.checkpoints import resolve_model_directory
from keras_llm.errors import UserInputError


def test_bad_input_is_a_user_error(tmp_path):
    with pytest.raises(UserInputError, match="not installed"):
        resolve_model_directory("package:no_such_model_package_here")
    with pytest.raises(UserInputError, match="not a directory"):
        resolve_model_directory(str(tmp_path / "missing"))


def test_a_directory_is_returned_as_a_string(tmp_path):
    assert resolve_model_directory(tmp_path) == str(tmp_path)


def test_a_model_package_gives_its_path_as_a_string(tmp_path, monkeypatch):
    package = types.ModuleType("fake_model_package")
    package.get_model_path = lambda: pathlib.Path(tmp_path)
    monkeypatch.setitem(sys.modules, "fake_model_package", package)
    assert resolve_model_directory("package:fake_model_package") == str(tmp_path)
    monkeypatch.setitem(sys.modules, "not_a_model_package", types.ModuleType("not_a_model_package"))
    with pytest.raises(UserInputError, match="not a model package"):
        resolve_model_directory("package:not_a_model_package")
