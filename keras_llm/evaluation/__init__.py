"""Scoring a trained model on held-out data, and labelling files: one module per task's metrics,
plus the report every `keras-llm evaluate` writes (:mod:`keras_llm.evaluation.report`)."""
