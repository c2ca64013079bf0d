"""Named, versioned training recipes (YAML) and the runs they produce."""

from keras_llm.zoo.gpt_runs import load_gpt_run, train_gpt_run
from keras_llm.zoo.recipes import bundled_data_dir, list_recipes, load_recipe
from keras_llm.zoo.translator_runs import load_translator_run, train_translator_run

__all__ = ["bundled_data_dir", "list_recipes", "load_gpt_run", "load_recipe", "load_translator_run", "train_gpt_run",
           "train_translator_run"]
