"""Position-wise feed-forward network of the Transformer."""

import math

import keras
from keras import ops

_ACTIVATIONS = ("gelu", "gelu_tanh", "relu")
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def exact_gelu(x):
    """GELU(x) = x · Φ(x) = ½ · x · (1 + erf(x / √2)), PyTorch's exact formula.

    ``keras.ops.gelu(approximate=False)`` computes the same function through
    ``erfc``, which XLA on CPU expands into two branches and an exponential; the
    ``erf`` form is one polynomial, so a training step does less work
    (benchmarks/gpt_step_profile.py). The two agree to float32 round-off.

    Args:
        x: any shape.

    Returns:
        Same shape and dtype as ``x``.

    Example:
        >>> float(exact_gelu(keras.ops.convert_to_tensor(1.0)))  # ≈ 0.8413
    """
    return 0.5 * x * (1.0 + ops.erf(x * ops.cast(_INV_SQRT2, x.dtype)))


def _activation(name):
    # "gelu" is the exact erf form (BERT, GPT-2 checkpoints are trained with it, and
    # keras-hub's tanh approximation is what makes it drift from them); "gelu_tanh" is
    # offered for models trained with the approximation.
    if name == "gelu":
        return exact_gelu
    if name == "gelu_tanh":
        return lambda x: ops.gelu(x, approximate=True)
    return ops.relu


@keras.saving.register_keras_serializable(package="keras_llm")
class FeedForward(keras.layers.Layer):
    """Dense(intermediate_dim) → activation → Dense(input width) → dropout.

    Args:
        intermediate_dim: width of the hidden layer (4 × model width in GPT/BERT).
        activation: ``"gelu"`` (exact erf GELU), ``"gelu_tanh"`` or ``"relu"``.
        dropout: dropout rate on the output.
        kernel_initializer: initializer of both kernels.

    Call arguments:
        inputs: ``(batch, seq_len, hidden_dim)``.

    Returns:
        ``(batch, seq_len, hidden_dim)``.

    Example:
        >>> FeedForward(32)(keras.ops.zeros((2, 5, 8))).shape
        (2, 5, 8)
    """

    def __init__(self, intermediate_dim, activation="gelu", dropout=0.0,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {_ACTIVATIONS}; got {activation!r}")
        self.intermediate_dim = int(intermediate_dim)
        self.activation = activation
        self.dropout = float(dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True
        self._activation_fn = _activation(activation)
        self.intermediate_dense = keras.layers.Dense(
            self.intermediate_dim, kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy, name="intermediate_dense")
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def build(self, inputs_shape):
        self.intermediate_dense.build(inputs_shape)
        self.output_dense = keras.layers.Dense(
            inputs_shape[-1], kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy, name="output_dense")
        self.output_dense.build((*inputs_shape[:-1], self.intermediate_dim))
        self.built = True

    def call(self, inputs, training=None):
        hidden = self._activation_fn(self.intermediate_dense(inputs))
        return self.dropout_layer(self.output_dense(hidden), training=training)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(intermediate_dim=self.intermediate_dim, activation=self.activation,
                      dropout=self.dropout,
                      kernel_initializer=keras.initializers.serialize(self.kernel_initializer))
        return config
