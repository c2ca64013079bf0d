"""Fine-tune a text classifier with ``model.fit``: tokenization in tf.data, AdamW, early stopping."""

import dataclasses
import io
import os

import keras
import numpy as np
import tensorflow as tf

from keras_llm.checks import positive_int
from keras_llm.data.classification import text_classification_dataset  # noqa: F401  (also its old home)
from keras_llm.errors import UserInputError
from keras_llm.training.metrics import SparseMacroF1
from keras_llm.training.optimizers import WarmupLinearDecay, make_adamw
from keras_llm.training.progress import progress_callbacks
from keras_llm.training.resume import logged_history
from keras_llm.training.run_callbacks import run_callbacks, run_paths, save_final_model
from keras_llm.training.runtime import compile_options


@dataclasses.dataclass
class ClassifierTrainingConfig:
    """How to fine-tune; defaults are the usual BERT fine-tuning set-up.

    ``warmup_steps`` is capped at half of the run's total steps, so a short run (a small dataset
    with the familiar 500 warm-up steps) still spends its second half decaying.
    """

    epochs: int = 3
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    warmup_steps: int = 500
    weight_decay: float = 0.01
    max_length: int = 128
    patience: int = 2
    seed: int = 1337
    jit_compile: bool = True
    steps_per_execution: int = 1

    def __post_init__(self):
        for name in ("epochs", "batch_size", "eval_batch_size", "max_length", "steps_per_execution"):
            positive_int(name, getattr(self, name))
        if self.learning_rate <= 0:
            raise UserInputError(f"learning_rate must be positive; got {self.learning_rate}")


def fine_tuning_optimizer(model, config, steps_per_epoch):
    """AdamW (weight decay not on biases/LayerNorm, β2 0.999, clip 1.0) with linear warm-up and decay
    over ``config.epochs * steps_per_epoch`` steps; the warm-up is capped at half of them."""
    total_steps = config.epochs * steps_per_epoch
    schedule = WarmupLinearDecay(config.learning_rate, min(config.warmup_steps, total_steps // 2), total_steps)
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


class ConfusionMatrixCallback(keras.callbacks.Callback):
    """Log the validation confusion matrix as a TensorBoard image (run ``confusion``) each epoch."""

    def __init__(self, validation_data, label_names, log_dir):
        super().__init__()
        self.validation_data = validation_data
        self.label_names = list(label_names)
        self.log_dir = log_dir

    def on_epoch_end(self, epoch, logs=None):
        labels, predictions = [], []
        for features, batch_labels in self.validation_data:
            predictions.append(np.argmax(self.model(features, training=False), axis=-1))
            labels.append(batch_labels.numpy())
        matrix = confusion_matrix(np.concatenate(labels), np.concatenate(predictions), len(self.label_names))
        writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "confusion"))
        with writer.as_default():
            tf.summary.image("confusion_matrix", _matrix_image(matrix, self.label_names), step=epoch)
        writer.close()


def train_text_classifier(model, tokenizer, train, valid, label_names, run_dir, config, verbose=1):
    """Fine-tune ``model`` (encoded inputs → logits) on ``train = (texts, label_ids)``.

    Validation each epoch on ``valid``; TensorBoard logs (loss, accuracy, macro-F1, learning
    rate, confusion matrix) under ``run_dir/logs``; ``best.keras`` by validation loss; early
    stopping after ``config.patience`` epochs without improvement (best weights restored);
    ``BackupAndRestore`` for resuming.

    Returns:
        the Keras ``History``.
    """
    train_data = text_classification_dataset(tokenizer, *train, config.max_length, config.batch_size,
                                             shuffle=True, seed=config.seed, epochs=config.epochs)
    valid_data = text_classification_dataset(tokenizer, *valid, config.max_length, config.eval_batch_size)
    steps_per_epoch = max(1, -(-len(train[0]) // config.batch_size))
    model.compile(
        optimizer=fine_tuning_optimizer(model, config, steps_per_epoch),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy"), SparseMacroF1(len(label_names))],
        **compile_options(config.jit_compile, config.steps_per_execution),
    )
    paths = run_paths(run_dir)
    callbacks, guard, resumed_epochs = run_callbacks(run_dir, [
        # After a resume, patience counts again from the resumed epoch.
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True,
                                      verbose=int(bool(verbose))),  # says when it stopped and which epoch it kept
        ConfusionMatrixCallback(valid_data, label_names, paths["logs"]),
    ])
    history = model.fit(train_data.skip(resumed_epochs * steps_per_epoch), validation_data=valid_data,
                        epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                        callbacks=[*callbacks, *progress_callbacks(verbose)], verbose=0,
                        shuffle=False)  # the dataset shuffles itself
    guard.raise_if_diverged(paths["best"])
    save_final_model(model, paths["final"])
    history.history = logged_history(paths["history"])  # the epochs before a resume too
    return history
