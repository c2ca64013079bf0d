"""The wheel is a complete keras-llm: its recipes find their bundled data outside the checkout.

The default test builds the wheel (seconds) and checks that every data file a recipe names is
inside it; the slow one installs the wheel into a fresh virtual environment outside the checkout
(dependencies from the package index, pinned by constraints.txt) and runs the console script there.
"""

import glob
import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

from keras_llm.runs import list_recipes, load_recipe

REPO = pathlib.Path(__file__).resolve().parents[1]


def _recipe_data_files():
    """Every bundled file a recipe names (relative to data/)."""
    found = set()
    for name in list_recipes():
        recipe = load_recipe(name)
        data = recipe.get("data", {}) or {}
        for value in [recipe.get("corpus"), data.get("train"), data.get("valid"), data.get("pairs"),
                      *(data.get("files") or [])]:
            if isinstance(value, str) and not os.path.isabs(value):
                found.add(value)
    return sorted(found)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(REPO)], check=True, capture_output=True, timeout=300)
    (path,) = glob.glob(str(out / "keras_llm-*.whl"))
    return path


def test_the_wheel_carries_every_recipes_data_and_the_recipes(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert _recipe_data_files(), "no recipe names a bundled file: the check below would be empty"
    for relative in _recipe_data_files():
        assert f"keras_llm/bundled_data/{relative}" in names, relative
    for recipe in list_recipes():
        assert f"keras_llm/runs/recipes/{recipe}.yaml" in names
    # licences and attribution travel with the data
    assert "keras_llm/bundled_data/tiny_shakespeare/README.md" in names


def test_missing_bundled_data_is_one_line_saying_how_to_get_it(monkeypatch, tmp_path):
    from keras_llm.errors import UserInputError
    from keras_llm.runs import recipes

    monkeypatch.setattr(recipes, "bundled_data_dir", lambda: str(tmp_path))
    with pytest.raises(UserInputError, match="wheel built from the repository"):
        recipes.bundled_data_file("tiny_shakespeare/input.txt")
    assert recipes.bundled_data_file("/abs/path.txt") == "/abs/path.txt"


@pytest.mark.slow
def test_an_installed_wheel_trains_and_evaluates_its_own_recipe_outside_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "-c", str(REPO / "constraints.txt"), wheel],
                   check=True, capture_output=True, timeout=1200)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    work = tmp_path / "elsewhere"
    work.mkdir()
    script = str(venv / "bin" / "keras-llm")

    def run(*argv):
        done = subprocess.run([script, *argv], cwd=work, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    location = subprocess.run([str(venv / "bin" / "python"), "-c", "import keras_llm; print(keras_llm.__file__)"],
                              cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    assert str(venv) in location, location  # the installed copy, not the checkout
    run("train", "gpt-shakespeare-char", "--steps", "5", "--eval-interval", "5", "--eval-batches", "1",
        "--max-length", "16", "--num-layers", "1", "--hidden-dim", "16", "--run-dir", "run")
    assert "bundled_data" in (work / "run" / "run.json").read_text(encoding="utf-8")
    held_out = work / "held_out.txt"
    held_out.write_text("ROMEO:\nWhat light through yonder window breaks?\n" * 5, encoding="utf-8")
    evaluated = run("evaluate", "run", "--test", str(held_out))
    assert "perplexity" in evaluated.stdout
