"""Readers and tf.data pipelines. Depends on nothing above it in keras_llm."""

from keras_llm.data.conll import TaggedSentence, read_conll, tag_vocabulary
from keras_llm.data.language_model import (
    TRAIN_FRACTION,
    join_train_validation,
    language_model_dataset,
    split_train_validation,
    validation_dataset,
)
from keras_llm.data.pairs import pairs_dataset, read_pairs
from keras_llm.data.tables import label_vocabulary, read_labeled_table, stratified_split
from keras_llm.data.text import read_text

__all__ = [
    "TRAIN_FRACTION",
    "TaggedSentence",
    "join_train_validation",
    "label_vocabulary",
    "language_model_dataset",
    "pairs_dataset",
    "read_conll",
    "read_labeled_table",
    "read_pairs",
    "read_text",
    "split_train_validation",
    "stratified_split",
    "tag_vocabulary",
    "validation_dataset",
]
