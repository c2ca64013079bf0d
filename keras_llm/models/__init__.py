"""Functional-API model builders."""

from keras_llm.models.gpt import GPTConfig, build_gpt, parameter_count

__all__ = ["GPTConfig", "build_gpt", "parameter_count"]
