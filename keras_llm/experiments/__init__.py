"""Side-by-side comparisons: several models trained on one split with one budget, and a report.

- :mod:`keras_llm.experiments.compare_lm`: GPT vs LSTM vs GRU vs N-gram language models
  (``compare_language_models(corpus, LMComparisonSettings(...))``; its parts in ``lm_tokens``,
  ``lm_sizing``, ``lm_runs``, ``lm_scoring``, ``lm_report``).
- :mod:`keras_llm.experiments.compare_classify`: BERT vs BiLSTM vs GRU vs bag-of-n-grams classifiers
  (``compare_classifiers(train_path, ClassifierComparisonSettings(...))``; ``classify_runs``,
  ``classify_report``).
"""
