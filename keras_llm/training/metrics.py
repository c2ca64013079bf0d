"""Metrics Keras lacks in the form our models need."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_llm")
class SparseMacroF1(keras.metrics.F1Score):
    """Macro-averaged F1 from integer labels and logits (Keras' F1Score wants one-hot labels).

    Args:
        num_classes: number of classes.

    Example:
        >>> metric = SparseMacroF1(3)
        >>> metric.update_state([0, 2], [[2.0, 0.1, 0.0], [0.0, 0.3, 1.0]])
        >>> float(metric.result())   # 1.0 on classes 0 and 2; class 1 (no support) counts 0
    """

    def __init__(self, num_classes, name="macro_f1", **kwargs):
        kwargs.pop("average", None)
        kwargs.pop("threshold", None)
        super().__init__(average="macro", threshold=None, name=name, **kwargs)
        self.num_classes = int(num_classes)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), self.num_classes)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes)
        config.pop("average", None)
        config.pop("threshold", None)
        return config


@keras.saving.register_keras_serializable(package="keras_llm")
class MaskedTokenAccuracy(keras.metrics.Metric):
    """Share of non-padding target tokens whose arg-max prediction is right.

    Args:
        pad_id: label id that is padding (not counted).

    Call arguments (``update_state``):
        y_true: int ``(batch, tgt_len)``; y_pred: logits ``(batch, tgt_len, vocab)``.

    Example:
        >>> metric = MaskedTokenAccuracy()
        >>> metric.update_state([[4, 0]], [[[0, 0, 0, 0, 9.0], [9.0, 0, 0, 0, 0]]])
        >>> float(metric.result())   # 1.0: the padded position does not count
    """

    def __init__(self, pad_id=0, name="token_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pad_id = int(pad_id)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        mask = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
        hits = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32")
        self.correct.assign_add(ops.sum(hits * mask))
        self.total.assign_add(ops.sum(mask))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}
