"""Functional-API model builders."""

from keras_llm.models.gpt import GPTConfig, build_gpt, parameter_count
from keras_llm.models.ngram import NGramLanguageModel

__all__ = ["GPTConfig", "NGramLanguageModel", "build_gpt", "parameter_count"]
