"""Readers and tf.data pipelines. Depends on nothing above it in keras_llm."""

from keras_llm.data.language_model import (
    language_model_dataset,
    split_train_validation,
    validation_dataset,
)
from keras_llm.data.tables import label_vocabulary, read_labeled_table, stratified_split
from keras_llm.data.text import read_text

__all__ = [
    "label_vocabulary",
    "language_model_dataset",
    "read_labeled_table",
    "read_text",
    "split_train_validation",
    "stratified_split",
    "validation_dataset",
]
