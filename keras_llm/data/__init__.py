"""Readers and tf.data pipelines. Depends on nothing above it in keras_llm."""

from keras_llm.data.language_model import (
    language_model_dataset,
    split_train_validation,
    validation_dataset,
)
from keras_llm.data.text import read_text

__all__ = ["language_model_dataset", "read_text", "split_train_validation", "validation_dataset"]
