"""Fine-tune a text classifier with ``model.fit``: tokenization in tf.data, AdamW, early stopping."""

import dataclasses
import io
import os

import keras
import numpy as np
import tensorflow as tf

from keras_llm.checks import positive_int
from keras_llm.data.classification import text_classification_dataset  # noqa: F401  (also its old home)
from keras_llm.data.window_classification import document_windows, window_classification_dataset
from keras_llm.data.windows import LongTexts
from keras_llm.errors import UserInputError
from keras_llm.training.callbacks import time_budget_seconds
from keras_llm.training.lora import check_lora_settings
from keras_llm.training.metrics import SparseMacroF1
from keras_llm.training.optimizers import WarmupLinearDecay, check_warmup_fraction, make_adamw, warmup_steps_of
from keras_llm.training.progress import progress_callbacks
from keras_llm.training.resume import logged_history
from keras_llm.training.run_callbacks import TensorBoardSettings, run_callbacks, run_paths, save_final_model
from keras_llm.training.runtime import compile_options
from keras_llm.training.step_logging import StepAwareCallback
from keras_llm.training.window_validation import PooledValidation


@dataclasses.dataclass
class ClassifierTrainingConfig:
    """How to fine-tune; defaults are the usual BERT fine-tuning set-up.

    The learning rate warms up over ``warmup_fraction`` of the run's planned steps (epochs × steps
    per epoch), then decays linearly to 0. An explicit ``warmup_steps`` (recipes and runs from before
    the fraction; the taggers) takes precedence, capped at half of the run
    (:func:`~keras_llm.training.optimizers.warmup_steps_of`).

    Texts longer than ``max_length`` tokens: ``long_texts="windows"`` reads them as overlapping
    windows (``window_stride`` pieces apart, default half a window; at most ``max_windows``) and pools
    the windows' logits (``pooling``: mean or max); ``"truncate"`` reads their first ``max_length``
    tokens. See :mod:`keras_llm.data.windows` and :mod:`keras_llm.training.window_validation`.
    """

    epochs: int = 3
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    warmup_fraction: float = 0.1
    warmup_steps: int | None = None
    weight_decay: float = 0.01
    max_length: int = 128
    patience: int = 2
    seed: int = 1337
    jit_compile: bool = True
    steps_per_execution: int = 1
    long_texts: str = "windows"
    window_stride: int | None = None
    max_windows: int = 16
    pooling: str = "mean"
    # TensorBoard (docs/tensorboard.md), as in keras_llm.training.TrainingConfig.
    log_every: int = 20
    histograms: bool = False
    # Wall-time budget: training stops once it is spent (the best checkpoint is kept); None = no limit.
    max_minutes: float | None = None
    # LoRA (keras_llm.training.lora): adapters of this rank on the encoder's projections, the encoder frozen;
    # None = full fine-tuning. lora_alpha None = the rank (scale 1).
    lora_rank: int | None = None
    lora_alpha: float | None = None

    def __post_init__(self):
        for name in ("epochs", "batch_size", "eval_batch_size", "max_length", "steps_per_execution", "log_every"):
            positive_int(name, getattr(self, name))
        time_budget_seconds(self.max_minutes)
        check_lora_settings(self.lora_rank, self.lora_alpha)
        if self.learning_rate <= 0:
            raise UserInputError(f"learning_rate must be positive; got {self.learning_rate}")
        check_warmup_fraction(self.warmup_fraction)
        self.long_text_settings.window_shape(self.max_length)  # refuses a bad mode, pooling or stride

    @property
    def long_text_settings(self):
        return LongTexts(self.long_texts, self.window_stride, self.max_windows, self.pooling)


def fine_tuning_optimizer(model, config, steps_per_epoch):
    """AdamW (weight decay not on biases/LayerNorm, β2 0.999, clip 1.0) with linear warm-up and decay
    over ``config.epochs * steps_per_epoch`` steps (warm-up: :func:`warmup_steps_of`)."""
    total_steps = config.epochs * steps_per_epoch
    warmup = warmup_steps_of(total_steps, config.warmup_fraction, config.warmup_steps)
    schedule = WarmupLinearDecay(config.learning_rate, warmup, total_steps)
    return make_adamw(model, schedule, weight_decay=config.weight_decay, beta_2=0.999, global_clipnorm=1.0)


def confusion_matrix(labels, predictions, num_classes):
    """``(num_classes, num_classes)`` counts; rows are true labels, columns predictions."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def _matrix_image(matrix, label_names):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = 1.2 + 0.5 * len(label_names)
    figure, axis = plt.subplots(figsize=(size + 1, size), constrained_layout=True)
    axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(label_names)), label_names, rotation=45, ha="right")
    axis.set_yticks(range(len(label_names)), label_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, str(count), ha="center", va="center",
                  color="white" if count > matrix.max() / 2 else "black")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return tf.image.decode_png(buffer.getvalue(), channels=4)[tf.newaxis]


class ConfusionMatrixCallback(StepAwareCallback):
    """Log the validation confusion matrix as a TensorBoard image (run ``confusion``) each epoch, at its step.

    ``validation_data``: batches of ``(features, labels)``, or a :class:`PooledValidation` (documents
    read in windows), whose predictions of the epoch are used.
    """

    def __init__(self, validation_data, label_names, log_dir):
        super().__init__()
        self.validation_data = validation_data
        self.label_names = list(label_names)
        self.log_dir = log_dir

    def _labels_and_predictions(self):
        if isinstance(self.validation_data, PooledValidation):
            return self.validation_data.labels, self.validation_data.predictions
        labels, predictions = [], []
        for features, batch_labels in self.validation_data:
            predictions.append(np.argmax(self.model(features, training=False), axis=-1))
            labels.append(batch_labels.numpy())
        return np.concatenate(labels), np.concatenate(predictions)

    def on_epoch_end(self, epoch, logs=None):
        matrix = confusion_matrix(*self._labels_and_predictions(), len(self.label_names))
        writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "confusion"))
        with writer.as_default():
            tf.summary.image("confusion_matrix", _matrix_image(matrix, self.label_names), step=self.global_step)
        writer.close()


def train_text_classifier(model, tokenizer, train, valid, label_names, run_dir, config, verbose=1):
    """Fine-tune ``model`` (encoded inputs → logits) on ``train = (texts, label_ids)``.

    Validation each epoch on ``valid``; TensorBoard logs by step (loss, accuracy, macro-F1,
    learning rate, confusion matrix, attention maps; docs/tensorboard.md) under ``run_dir/logs``;
    ``best.keras`` by validation loss; early stopping after ``config.patience`` epochs without
    improvement (best weights restored); a backup every epoch for resuming.

    With ``config.long_texts == "windows"`` and a text (training or validation) longer than the
    context, training runs on windows (:func:`windowed_training_data`); otherwise on whole texts.

    Returns:
        the Keras ``History``.
    """
    windowed = windowed_training_data(tokenizer, train, valid, len(label_names), config)
    if windowed:
        train_data, validation, examples = windowed
        valid_data, extra = None, {"validation_callbacks": [validation]}
    else:
        train_data = text_classification_dataset(tokenizer, *train, config.max_length, config.batch_size,
                                                 shuffle=True, seed=config.seed, epochs=config.epochs)
        valid_data = validation = text_classification_dataset(tokenizer, *valid, config.max_length,
                                                              config.eval_batch_size)
        examples, extra = len(train[0]), {}
    steps_per_epoch = max(1, -(-examples // config.batch_size))
    model.compile(
        optimizer=fine_tuning_optimizer(model, config, steps_per_epoch),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy"), SparseMacroF1(len(label_names))],
        **compile_options(config.jit_compile, config.steps_per_execution, align_to=(steps_per_epoch,)),
    )
    paths = run_paths(run_dir)
    callbacks, guard, resumed_steps = run_callbacks(run_dir, steps_per_epoch, [
        # After a resume, patience counts again from the resumed epoch.
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True,
                                      verbose=int(bool(verbose))),  # says when it stopped and which epoch it kept
        ConfusionMatrixCallback(validation, label_names, paths["logs"]),
    ], tensorboard=TensorBoardSettings.of(config, valid_data if valid_data is not None else validation.window_data,
                                          tokenizer.vocabulary), max_minutes=config.max_minutes, **extra)
    history = model.fit(train_data.skip(resumed_steps), validation_data=valid_data,
                        epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                        callbacks=[*callbacks, *progress_callbacks(verbose)], verbose=0,
                        shuffle=False)  # the dataset shuffles itself
    guard.raise_if_diverged(paths["best"])
    save_final_model(model, paths["final"])
    history.history = logged_history(paths["history"])  # the epochs before a resume too
    return history


def windowed_training_data(tokenizer, train, valid, num_classes, config):
    """``(train_data, pooled_validation, windows_per_epoch)`` for training on windows, or None.

    None unless ``config.long_texts`` is ``"windows"`` and some text is longer than the context:
    then every training window is an example with its document's label, shuffled over windows, and
    validation pools each document's window logits (:class:`PooledValidation`).
    """
    settings = config.long_text_settings
    if settings.mode != "windows":
        return None
    train_windows = document_windows(tokenizer, train[0], config.max_length, settings)
    valid_windows = document_windows(tokenizer, valid[0], config.max_length, settings)
    if not (train_windows.too_long.any() or valid_windows.too_long.any()):
        return None
    window_labels = train_windows.labels(train[1])
    train_data = window_classification_dataset(tokenizer, train_windows, window_labels, config.max_length,
                                                config.batch_size, shuffle=True, seed=config.seed,
                                                epochs=config.epochs)
    valid_data = window_classification_dataset(tokenizer, valid_windows, valid_windows.labels(valid[1]),
                                               config.max_length, config.eval_batch_size)
    validation = PooledValidation(valid_data, valid_windows.text_index, valid[1], num_classes, config.pooling)
    return train_data, validation, len(window_labels)
