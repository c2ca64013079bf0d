"""Functional-API model builders."""

from keras_llm.models.gpt import GPTConfig, build_gpt, parameter_count
from keras_llm.models.ngram import NGramLanguageModel
from keras_llm.models.rnn import RNNConfig, build_rnn_classifier, build_rnn_lm  # noqa: F401 (re-exported)

__all__ = ["GPTConfig", "NGramLanguageModel", "build_gpt", "parameter_count"]
