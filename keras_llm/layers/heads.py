"""Small layers that sit between an encoder and its task head: pooling, gathering, output bias, masks.

They moved here from ``keras_llm.models`` (where the BERT, masked-LM and token-classifier builders
use them); they keep their registered names (``keras_llm>GatherPositions``, ``keras_llm>MLMBias``,
``keras_llm>PaddingMaskToBool``, ``keras_llm>_FirstToken``), so ``.keras`` files saved before the
move still load, and the old import paths still work.
"""

import keras
from keras import ops


# Registered as "_FirstToken", its name when it was private to models/bert.py: saved files name it so.
@keras.saving.register_keras_serializable(package="keras_llm", name="_FirstToken")
class FirstToken(keras.layers.Layer):
    """The hidden state at position 0 (BERT's [CLS] token), the input of BERT's pooler.

    Call arguments:
        inputs: ``(batch, seq_len, hidden_dim)``.

    Returns:
        ``(batch, hidden_dim)``.

    Example:
        >>> FirstToken()(keras.ops.zeros((2, 5, 8))).shape
        (2, 8)
    """

    def call(self, inputs):
        return inputs[:, 0, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="keras_llm")
class GatherPositions(keras.layers.Layer):
    """The hidden states at given positions of each row (the masked positions of a masked LM).

    Call arguments:
        sequence: ``(batch, seq_len, hidden_dim)``.
        positions: int ``(batch, num_positions)``, indices into ``seq_len``.

    Returns:
        ``(batch, num_positions, hidden_dim)``.

    Example:
        >>> sequence = keras.ops.reshape(keras.ops.arange(12, dtype="float32"), (1, 4, 3))
        >>> GatherPositions()(sequence, keras.ops.array([[3, 0]]))   # rows 3 and 0
        [[[9., 10., 11.], [0., 1., 2.]]]
    """

    def call(self, sequence, positions):
        index = ops.expand_dims(ops.cast(positions, "int32"), -1)
        return ops.take_along_axis(sequence, index, axis=1)

    def compute_output_shape(self, sequence_shape, positions_shape):
        return (*positions_shape, sequence_shape[-1])


@keras.saving.register_keras_serializable(package="keras_llm")
class MLMBias(keras.layers.Layer):
    """A per-token output bias added to tied logits (BERT's ``cls.predictions.bias``).

    The logits come from a tied embedding (``ReversibleEmbedding(reverse=True)``), which has no
    bias of its own; the sum is float32, as all logits here.

    Args:
        vocab_size: length of the bias (the last axis of the logits).

    Call arguments:
        logits: ``(..., vocab_size)``, any float dtype.

    Returns:
        float32 ``(..., vocab_size)``.

    Example:
        >>> MLMBias(100)(keras.ops.zeros((2, 3, 100))).shape
        (2, 3, 100)
    """

    def __init__(self, vocab_size, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)

    def build(self, logits_shape):
        self.bias = self.add_weight(name="bias", shape=(self.vocab_size,), initializer="zeros")
        self.built = True

    def call(self, logits):
        return ops.cast(logits, "float32") + ops.cast(self.bias, "float32")

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size)
        return config


@keras.saving.register_keras_serializable(package="keras_llm")
class PaddingMaskToBool(keras.layers.Layer):
    """An int padding mask (1 = real token) as booleans, for the ``mask`` of Keras' recurrent layers.

    Call arguments:
        padding_mask: int ``(batch, seq_len)``.

    Returns:
        bool ``(batch, seq_len)``.

    Example:
        >>> PaddingMaskToBool()(keras.ops.array([[1, 1, 0]]))
        [[True, True, False]]
    """

    def call(self, padding_mask):
        return ops.cast(padding_mask, "bool")

    def compute_output_spec(self, padding_mask):
        return keras.KerasTensor(padding_mask.shape, dtype="bool")
