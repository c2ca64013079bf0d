"""Weight histograms and per-layer gradient-norm histograms in TensorBoard (``--histograms``).

At every evaluation, run ``histograms`` gets:

- ``weights/<variable path>`` (e.g. ``weights/decoder_block_0/self_attention/query/kernel``): the
  values of every trainable variable;
- ``gradient_norm/<layer path>`` (e.g. ``gradient_norm/decoder_block_0/self_attention/query``):
  the L2 norm of the layer's gradient (all its variables together) on each of
  :data:`GRADIENT_BATCHES` fixed validation batches, so the histogram shows the norm's size and
  its spread from batch to batch.

The gradients are taken eagerly, outside the training step, with ``training=False`` (no dropout
drawn, no random state advanced, no optimizer state touched), so a run with histograms trains
exactly as one without. They cost one forward and backward pass per batch per evaluation,
which is why they are off by default.

Example:
    >>> model.fit(train, validation_data=valid, callbacks=[WeightHistograms("runs/x/logs", valid)], ...)
"""


import keras
import numpy as np
import tensorflow as tf

from keras_llm.training.step_logging import RunWriterCallback

HISTOGRAMS_RUN = "histograms"
GRADIENT_BATCHES = 4


def _finite(values):
    values = np.asarray(values, dtype=np.float64).ravel()
    return values[np.isfinite(values)]


def layer_of(variable):
    """The path of the layer that owns ``variable`` (its path without the variable's own name)."""
    return variable.path.rsplit("/", 1)[0]


def gradient_norms(model, batches):
    """``{layer path: [L2 norm of its gradient on each batch]}`` of ``model``'s compiled loss.

    Layers whose variables get no gradient (a pooler a tagger never uses) are left out.
    """
    variables = model.trainable_variables
    norms = {}
    for batch in batches:
        inputs, labels, weights = keras.utils.unpack_x_y_sample_weight(batch)
        with tf.GradientTape() as tape:
            loss = model.loss(labels, model(inputs, training=False), sample_weight=weights)
        squares = {}
        for variable, gradient in zip(variables, tape.gradient(loss, variables)):
            if gradient is not None:
                squares.setdefault(layer_of(variable), []).append(
                    tf.reduce_sum(tf.square(tf.cast(tf.convert_to_tensor(gradient), tf.float32))))
        for layer, parts in squares.items():
            norms.setdefault(layer, []).append(float(tf.sqrt(tf.add_n(parts))))
    return norms


class WeightHistograms(RunWriterCallback):
    """Write weight and gradient-norm histograms at every evaluation (see the module docstring).

    Args:
        log_dir: the run's TensorBoard folder; histograms go to its ``histograms`` run.
        validation_data: batches ``(inputs, labels[, sample weights])``; the first
            ``num_batches`` give the gradients.
        num_batches: batches per gradient-norm histogram.
    """

    run_name = HISTOGRAMS_RUN

    def __init__(self, log_dir, validation_data, num_batches=GRADIENT_BATCHES):
        super().__init__(log_dir)
        self.validation_data = validation_data
        self.num_batches = num_batches
        self._batches = None

    def on_epoch_end(self, epoch, logs=None):
        if self._batches is None:  # after the first evaluation: a cached dataset is complete by then
            self._batches = list(self.validation_data.take(self.num_batches))
        with self.writer().as_default():
            for variable in self.model.trainable_variables:
                tf.summary.histogram(f"weights/{variable.path}", _finite(keras.ops.convert_to_numpy(variable)),
                                     step=self.global_step)
            for layer, norms in sorted(gradient_norms(self.model, self._batches).items()):
                tf.summary.histogram(f"gradient_norm/{layer}", _finite(norms), step=self.global_step)
        self.flush_events()
