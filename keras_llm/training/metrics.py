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
