"""The span head of an extractive reader: start and end logits for every position of a sequence."""

import keras
from keras import ops

# Logit given to padding positions: far below any real logit, still finite in float16 after a cast to float32.
PADDING_LOGIT = -1e4


@keras.saving.register_keras_serializable(package="keras_llm")
class SpanLogits(keras.layers.Layer):
    """One dense layer to two logits per position, split into ``start_logits`` and ``end_logits``.

    Padding positions get :data:`PADDING_LOGIT`, so a softmax over positions never picks them and a
    loss over positions needs no mask. The output is float32 whatever the dtype policy (the softmax
    over hundreds of positions wants the precision).

    Args:
        kernel_initializer: initializer of the dense layer (BERT's truncated normal, stddev 0.02).

    Call arguments:
        sequence: ``(batch, seq_len, hidden_dim)``.
        padding_mask: int or bool ``(batch, seq_len)``, 1 for real tokens.

    Returns:
        dict ``start_logits``, ``end_logits``: float32 ``(batch, seq_len)``.

    Example:
        >>> out = SpanLogits()(keras.ops.zeros((2, 5, 8)), keras.ops.array([[1, 1, 1, 0, 0]] * 2))
        >>> out["start_logits"].shape
        (2, 5)
    """

    def __init__(self, kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer or keras.initializers.TruncatedNormal(stddev=0.02))
        self.dense = keras.layers.Dense(2, kernel_initializer=self.kernel_initializer, dtype="float32", name="dense")

    def build(self, sequence_shape, padding_mask_shape=None):
        self.dense.build(sequence_shape)

    def call(self, sequence, padding_mask):
        logits = self.dense(ops.cast(sequence, "float32"))
        real = ops.cast(padding_mask, "bool")
        start, end = logits[..., 0], logits[..., 1]
        return {"start_logits": ops.where(real, start, PADDING_LOGIT),
                "end_logits": ops.where(real, end, PADDING_LOGIT)}

    def compute_output_shape(self, sequence_shape, padding_mask_shape=None):
        return {"start_logits": tuple(sequence_shape[:2]), "end_logits": tuple(sequence_shape[:2])}

    def get_config(self):
        return {**super().get_config(),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
