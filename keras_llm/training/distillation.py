"""Knowledge distillation (Hinton et al., 2015): a student classifier trained on a teacher's soft labels.

The loss mixes the two signals: ``alpha · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − alpha) · CE(y, s)``,
``t`` the teacher's logits, ``s`` the student's, ``y`` the hard label, ``T`` the temperature (the
``T²`` keeps the soft term's gradients on the hard term's scale as T grows). Keras losses and
metrics see one target tensor, so each example's target is packed as ``[label, t_1 … t_C]``
``(batch, 1 + num_classes)``; :class:`HardLabelAccuracy` reads the label column.

The fit loop is the classifier's (:func:`~keras_llm.training.classifier.train_text_classifier`): the
same optimizer, schedule, early stopping, best checkpoint, backups and TensorBoard, on whole texts
(truncated at ``max_length``), with the packed targets gathered by example index inside tf.data.

Example:
    >>> loss = DistillationLoss(temperature=2.0, alpha=0.5)
    >>> targets = np.array([[1, -1.0, 2.0]], "float32")          # label 1, teacher logits (-1, 2)
    >>> float(loss(targets, np.array([[0.0, 1.0]], "float32"))) > 0
    True
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_llm.data.classification import text_classification_dataset
from keras_llm.errors import UserInputError
from keras_llm.training.classifier import fine_tuning_optimizer
from keras_llm.training.progress import progress_callbacks
from keras_llm.training.resume import logged_history
from keras_llm.training.run_callbacks import TensorBoardSettings, run_callbacks, run_paths, save_final_model
from keras_llm.training.runtime import compile_options


@dataclasses.dataclass
class DistillationSettings:
    """``temperature`` (> 0) softens both distributions; ``alpha`` in [0, 1] weighs the soft term."""

    temperature: float = 2.0
    alpha: float = 0.5

    def __post_init__(self):
        if not (np.isfinite(self.temperature) and self.temperature > 0):
            raise UserInputError(f"temperature must be a positive number; got {self.temperature}")
        if not 0.0 <= self.alpha <= 1.0:
            raise UserInputError(f"alpha must be in [0, 1]; got {self.alpha}")


@keras.saving.register_keras_serializable(package="keras_llm")
class DistillationLoss(keras.losses.Loss):
    """The soft/hard mix above; ``y_true`` ``(batch, 1 + C)`` packed targets, ``y_pred`` ``(batch, C)`` logits."""

    def __init__(self, temperature=2.0, alpha=0.5, name="distillation_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.temperature = float(temperature)
        self.alpha = float(alpha)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        labels = ops.cast(y_true[:, 0], "int32")
        teacher = ops.log_softmax(y_true[:, 1:] / self.temperature, axis=-1)
        student = ops.log_softmax(y_pred / self.temperature, axis=-1)
        soft = ops.sum(ops.exp(teacher) * (teacher - student), axis=-1) * self.temperature ** 2
        hard = keras.losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=True)
        return self.alpha * soft + (1.0 - self.alpha) * hard

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature, "alpha": self.alpha}


@keras.saving.register_keras_serializable(package="keras_llm")
class HardLabelAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Accuracy against the hard label in column 0 of packed distillation targets."""

    def __init__(self, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(ops.cast(y_true[:, 0], "int32"), y_pred, sample_weight)


def packed_targets(label_ids, teacher_logits):
    """``(n, 1 + C)`` float32: each example's hard label, then the teacher's logits."""
    label_ids = np.asarray(label_ids, np.float32).reshape(-1, 1)
    return np.concatenate([label_ids, np.asarray(teacher_logits, np.float32)], axis=1)


def _distillation_dataset(tokenizer, texts, targets, config, shuffle):
    """The classifier's batches with example indices as labels, each index then replaced by its packed target."""
    table = tf.constant(targets)
    batch_size = config.batch_size if shuffle else config.eval_batch_size
    data = text_classification_dataset(tokenizer, texts, np.arange(len(texts)), config.max_length, batch_size,
                                       shuffle=shuffle, seed=config.seed, epochs=config.epochs if shuffle else None)
    return data.map(lambda inputs, index: (inputs, tf.gather(table, index)))


def train_distilled_classifier(model, tokenizer, train, valid, run_dir, config, settings, verbose=1):
    """Train ``model`` on ``train = (texts, packed targets)``, validating on ``valid`` likewise.

    ``config`` is a :class:`~keras_llm.training.classifier.ClassifierTrainingConfig` (texts are
    truncated at its ``max_length``), ``settings`` a :class:`DistillationSettings`. ``best.keras`` is
    the epoch of lowest validation distillation loss; returns the Keras ``History``.
    """
    train_data = _distillation_dataset(tokenizer, train[0], train[1], config, shuffle=True)
    valid_data = _distillation_dataset(tokenizer, valid[0], valid[1], config, shuffle=False)
    steps_per_epoch = max(1, -(-len(train[0]) // config.batch_size))
    model.compile(optimizer=fine_tuning_optimizer(model, config, steps_per_epoch),
                  loss=DistillationLoss(settings.temperature, settings.alpha), metrics=[HardLabelAccuracy()],
                  **compile_options(config.jit_compile, config.steps_per_execution, align_to=(steps_per_epoch,)))
    paths = run_paths(run_dir)
    callbacks, guard, resumed_steps = run_callbacks(run_dir, steps_per_epoch, [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True,
                                      verbose=int(bool(verbose)))],
        tensorboard=TensorBoardSettings.of(config, valid_data, tokenizer.vocabulary), max_minutes=config.max_minutes)
    history = model.fit(train_data.skip(resumed_steps), validation_data=valid_data,
                        epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                        callbacks=[*callbacks, *progress_callbacks(verbose)], verbose=0, shuffle=False)
    guard.raise_if_diverged(paths["best"])
    save_final_model(model, paths["final"])
    history.history = logged_history(paths["history"])
    return history
