"""Side-by-side comparisons: several models trained on one split with one budget, and a report.

- :mod:`keras_llm.experiments.compare_lm`: GPT vs LSTM vs GRU vs N-gram language models.
- :mod:`keras_llm.experiments.compare_classify`: BERT vs BiLSTM vs GRU vs bag-of-n-grams classifiers.
"""
