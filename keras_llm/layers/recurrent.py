"""SimpleRNN, LSTM and GRU cells written from the textbook gate equations.

Each cell is one time step for ``keras.layers.RNN(cell)``. Weights are stored as
Keras stores them (gates concatenated along the last axis, in Keras' gate order),
so weights copy one to one from ``keras.layers.SimpleRNN/LSTM/GRU``; the equations
themselves are written out gate by gate, which is the point of these cells.
"""

import keras
from keras import ops


class _GatedCellBase(keras.layers.Layer):
    """Holds ``kernel (input_dim, gates*units)``, ``recurrent_kernel (units, gates*units)``, ``bias``."""

    num_gates = 1

    def __init__(self, units, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        if int(units) <= 0:
            raise ValueError(f"units must be a positive integer; got {units}")
        self.units = int(units)
        self.use_bias = bool(use_bias)

    def _bias_shape(self):
        return (self.num_gates * self.units,)

    def build(self, inputs_shape):
        width = self.num_gates * self.units
        self.kernel = self.add_weight(name="kernel", shape=(inputs_shape[-1], width),
                                      initializer="glorot_uniform")
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, width),
                                                initializer="orthogonal")
        self.bias = (self.add_weight(name="bias", shape=self._bias_shape(), initializer="zeros")
                     if self.use_bias else None)
        self.built = True

    def _gate(self, matrix, index):
        """Columns of gate ``index`` of a concatenated weight."""
        return matrix[..., index * self.units:(index + 1) * self.units]

    def _input_part(self, inputs, index, bias=None):
        """x·W_index (+ b_index)."""
        bias = self.bias if bias is None else bias
        out = ops.matmul(inputs, self._gate(self.kernel, index))
        return out + self._gate(bias, index) if self.use_bias else out

    def _recurrent_part(self, state, index):
        """h·U_index."""
        return ops.matmul(state, self._gate(self.recurrent_kernel, index))

    def _check_inputs(self, inputs):
        if len(inputs.shape) != 2:
            raise ValueError(f"cell inputs must have shape (batch, input_dim); got {inputs.shape}")

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, use_bias=self.use_bias)
        return config


@keras.saving.register_keras_serializable(package="keras_llm")
class SimpleRNNCell(_GatedCellBase):
    """Elman cell: ``h_t = tanh(x_t W + h_{t-1} U + b)``.

    Args:
        units: state width.
        use_bias: add ``b``.

    Call arguments:
        inputs: ``(batch, input_dim)``; states: ``[h (batch, units)]``.

    Example:
        >>> keras.layers.RNN(SimpleRNNCell(8))(keras.ops.zeros((2, 5, 3))).shape
        (2, 8)
    """

    num_gates = 1

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def call(self, inputs, states, training=None):
        self._check_inputs(inputs)
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        h = ops.tanh(self._input_part(inputs, 0) + self._recurrent_part(h_prev, 0))
        return h, [h]


@keras.saving.register_keras_serializable(package="keras_llm")
class LSTMCell(_GatedCellBase):
    """Long short-term memory cell (Hochreiter & Schmidhuber, 1997; forget gate of Gers et al.).

    ``i = σ(xW_i + hU_i + b_i)``, ``f = σ(xW_f + hU_f + b_f)``,
    ``g = tanh(xW_c + hU_c + b_c)``, ``o = σ(xW_o + hU_o + b_o)``,
    ``c_t = f ⊙ c_{t-1} + i ⊙ g``, ``h_t = o ⊙ tanh(c_t)``. Gate order i, f, c, o (Keras').

    Args:
        units: state width.
        use_bias: add the biases.
        unit_forget_bias: initialise ``b_f`` to 1 (Jozefowicz et al., 2015), as Keras does.

    Call arguments:
        inputs: ``(batch, input_dim)``; states: ``[h, c]`` each ``(batch, units)``.

    Example:
        >>> keras.layers.RNN(LSTMCell(8), return_sequences=True)(keras.ops.zeros((2, 5, 3))).shape
        (2, 5, 8)
    """

    num_gates = 4

    def __init__(self, units, use_bias=True, unit_forget_bias=True, **kwargs):
        super().__init__(units, use_bias, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def build(self, inputs_shape):
        super().build(inputs_shape)
        if self.use_bias and self.unit_forget_bias:
            self.bias.assign(ops.concatenate([
                ops.zeros((self.units,)), ops.ones((self.units,)), ops.zeros((2 * self.units,))]))

    @property
    def state_size(self):
        return [self.units, self.units]

    @property
    def output_size(self):
        return self.units

    def call(self, inputs, states, training=None):
        self._check_inputs(inputs)
        h_prev, c_prev = states
        input_gate = ops.sigmoid(self._input_part(inputs, 0) + self._recurrent_part(h_prev, 0))
        forget_gate = ops.sigmoid(self._input_part(inputs, 1) + self._recurrent_part(h_prev, 1))
        candidate = ops.tanh(self._input_part(inputs, 2) + self._recurrent_part(h_prev, 2))
        output_gate = ops.sigmoid(self._input_part(inputs, 3) + self._recurrent_part(h_prev, 3))
        c = forget_gate * c_prev + input_gate * candidate
        h = output_gate * ops.tanh(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config.update(unit_forget_bias=self.unit_forget_bias)
        return config


@keras.saving.register_keras_serializable(package="keras_llm")
class GRUCell(_GatedCellBase):
    """Gated recurrent unit (Cho et al., 2014). Gate order z, r, h (Keras').

    ``z = σ(xW_z + hU_z + b_z)``, ``r = σ(xW_r + hU_r + b_r)``, ``h_t = z ⊙ h_{t-1} + (1 − z) ⊙ ĥ``.

    The reset gate has two published placements, chosen by ``reset_after``:

    * ``reset_after=False`` (Cho et al., the textbook form): ``ĥ = tanh(xW_h + (r ⊙ h)U_h + b_h)``;
      bias shape ``(3*units,)``.
    * ``reset_after=True`` (cuDNN's form, Keras' default): ``ĥ = tanh(xW_h + b_h + r ⊙ (hU_h + b'_h))``;
      a second recurrent bias, bias shape ``(2, 3*units)``.

    Args:
        units: state width.
        use_bias: add the biases.
        reset_after: where the reset gate is applied (see above).

    Call arguments:
        inputs: ``(batch, input_dim)``; states: ``[h (batch, units)]``.

    Example:
        >>> keras.layers.RNN(GRUCell(8))(keras.ops.zeros((2, 5, 3))).shape
        (2, 8)
    """

    num_gates = 3

    def __init__(self, units, use_bias=True, reset_after=False, **kwargs):
        super().__init__(units, use_bias, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def call(self, inputs, states, training=None):
        self._check_inputs(inputs)
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        input_bias = self.bias[0] if (self.use_bias and self.reset_after) else self.bias
        x_z, x_r, x_h = (self._input_part(inputs, i, input_bias) for i in range(3))
        h_z, h_r = self._recurrent_part(h_prev, 0), self._recurrent_part(h_prev, 1)
        if self.use_bias and self.reset_after:
            recurrent_bias = self.bias[1]
            h_z = h_z + self._gate(recurrent_bias, 0)
            h_r = h_r + self._gate(recurrent_bias, 1)
        update_gate = ops.sigmoid(x_z + h_z)
        reset_gate = ops.sigmoid(x_r + h_r)
        if self.reset_after:
            h_h = self._recurrent_part(h_prev, 2)
            if self.use_bias:
                h_h = h_h + self._gate(self.bias[1], 2)
            candidate = ops.tanh(x_h + reset_gate * h_h)
        else:
            candidate = ops.tanh(x_h + self._recurrent_part(reset_gate * h_prev, 2))
        h = update_gate * h_prev + (1.0 - update_gate) * candidate
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.update(reset_after=self.reset_after)
        return config
