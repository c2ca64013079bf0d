"""Model builders: Functional-API Keras models, plus the N-gram baseline (not Keras)."""

from keras_llm.models.bag_of_words import BagOfWordsConfig, bag_of_ngrams_vectorizer, build_bag_of_words_classifier
from keras_llm.models.bert import BertConfig, build_bert_backbone, mean_pool
from keras_llm.models.bert_classifier import build_bert_classifier
from keras_llm.models.gpt import GPTConfig, build_gpt, parameter_count
from keras_llm.models.ngram import NGramLanguageModel
from keras_llm.models.rnn import RNNConfig, build_rnn_classifier, build_rnn_lm
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer
from keras_llm.models.token_classifier import TokenClassifierConfig, build_token_classifier

__all__ = [
    "BagOfWordsConfig",
    "BertConfig",
    "GPTConfig",
    "NGramLanguageModel",
    "RNNConfig",
    "TokenClassifierConfig",
    "Seq2SeqConfig",
    "bag_of_ngrams_vectorizer",
    "build_bag_of_words_classifier",
    "build_bert_backbone",
    "build_bert_classifier",
    "build_gpt",
    "build_rnn_classifier",
    "build_rnn_lm",
    "build_token_classifier",
    "build_seq2seq_transformer",
    "mean_pool",
    "parameter_count",
]
