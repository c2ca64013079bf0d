"""Run directories: named, versioned recipes (YAML), every task's ``train_*_run``, and loading a run back."""

from keras_llm.runs.gpt import load_gpt_run, train_gpt_run
from keras_llm.runs.recipes import bundled_data_dir, list_recipes, load_recipe
from keras_llm.runs.translator import load_translator_run, train_translator_run

__all__ = ["bundled_data_dir", "list_recipes", "load_gpt_run", "load_recipe", "load_translator_run", "train_gpt_run",
           "train_translator_run"]
