"""Optimizers, schedules, callbacks and the model.fit-based training loops."""

from keras_llm.training.language_model import TrainingConfig, train_language_model
from keras_llm.training.optimizers import make_adamw, warmup_cosine_schedule
from keras_llm.training.run_callbacks import run_paths

__all__ = ["TrainingConfig", "make_adamw", "run_paths", "train_language_model", "warmup_cosine_schedule"]
