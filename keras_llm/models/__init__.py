"""Model builders: Functional-API Keras models, plus the N-gram baseline (not Keras)."""

from keras_llm.models.bert import BertConfig, build_bert_backbone, mean_pool
from keras_llm.models.bert_classifier import build_bert_classifier
from keras_llm.models.gpt import GPTConfig, build_gpt, parameter_count
from keras_llm.models.ngram import NGramLanguageModel
from keras_llm.models.rnn import RNNConfig, build_rnn_classifier, build_rnn_lm

__all__ = [
    "BertConfig",
    "GPTConfig",
    "NGramLanguageModel",
    "RNNConfig",
    "build_bert_backbone",
    "build_bert_classifier",
    "build_gpt",
    "build_rnn_classifier",
    "build_rnn_lm",
    "mean_pool",
    "parameter_count",
]
