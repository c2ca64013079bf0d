"""Loading a run never runs code from its files: a .keras file with a Lambda layer is refused."""

import shutil

import keras
import pytest

from keras_llm.errors import UserInputError
from keras_llm.runs import load_gpt_run


def test_keras_file_with_python_code_is_refused(trained_run, tmp_path):
    run_dir, _ = trained_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)  # serialized as Python bytecode
    keras.Model(inputs, outputs).save(copy / "best.keras")
    with pytest.raises(UserInputError, match="contains Python code .* safe_mode"):
        load_gpt_run(str(copy))
