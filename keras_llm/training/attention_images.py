"""Attention maps of one fixed validation example, written to TensorBoard at every evaluation.

The example is the first row of the first validation batch, cut to its real tokens (at most
:data:`MAX_TOKENS`, so the labels stay legible). At each evaluation the model runs on it
eagerly with :func:`~keras_llm.layers.attention.recorded_attention_scores` watching every
attention layer (the training step is not touched), and each layer becomes one image in run
``attention``: its heads side by side, rows the attending (query) tokens, columns the attended
(key) tokens, both labelled with the tokens. Tags are the layer paths, e.g.
``decoder_block_0/self_attention``; a translator also has ``encoder_block_0/self_attention``
(source × source) and ``decoder_block_0/cross_attention`` (target rows × source columns).

Example:
    >>> callback = AttentionImages("runs/x/logs", valid, vocabulary=tokenizer.vocabulary)
    >>> model.fit(train, validation_data=valid, callbacks=[callback], ...)
"""

import io
import math
import warnings

import numpy as np
import tensorflow as tf

from keras_llm.layers.attention import MultiHeadAttention, recorded_attention_scores
from keras_llm.models.seq2seq import DECODER_INPUT, ENCODER_INPUT
from keras_llm.training.step_logging import RunWriterCallback

ATTENTION_RUN = "attention"
MAX_TOKENS = 32
HEADS_PER_ROW = 4
# Names of the token streams an example carries: one for GPT/BERT models, two for a translator.
TOKENS, SOURCE, TARGET = "tokens", "source", "target"
_BERT_SEQUENCE_INPUTS = ("token_ids", "segment_ids", "padding_mask")


def attention_layers(model):
    """Every :class:`MultiHeadAttention` inside ``model`` (nested backbones included)."""
    return [layer for layer in model._flatten_layers(include_self=False)  # noqa: SLF001  (no public recursive walk)
            if isinstance(layer, MultiHeadAttention)]


def _first_row(value, length):
    return np.asarray(value)[:1, :length]


def _real_length(ids, padding_id=0):
    """Tokens before the trailing padding of one row."""
    nonzero = np.flatnonzero(np.asarray(ids) != padding_id)
    return int(nonzero[-1]) + 1 if nonzero.size else 1


def attention_example(inputs, max_tokens=MAX_TOKENS):
    """The first example of a batch of model inputs, cut to its real tokens: ``(inputs, streams)``.

    Args:
        inputs: a batch as the model takes it: int ids ``(batch, seq_len)`` (GPT); a dict with
            ``token_ids``/``segment_ids``/``padding_mask`` (BERT models, with ``mask_positions``
            for a masked LM); or ``encoder_token_ids``/``decoder_token_ids`` (a translator,
            0 = padding).
        max_tokens: the longest stream kept.

    Returns:
        ``inputs`` of batch size 1, and ``{stream: [token ids]}`` with stream ``"tokens"``, or
        ``"source"`` and ``"target"`` for a translator.

    Example:
        >>> attention_example(np.array([[5, 6, 7, 0], [1, 2, 3, 4]]), max_tokens=2)
        (array([[5, 6]]), {'tokens': [5, 6]})
    """
    if not isinstance(inputs, dict):
        example = _first_row(inputs, max_tokens)
        return example, {TOKENS: example[0].tolist()}
    if ENCODER_INPUT in inputs:
        source = _first_row(inputs[ENCODER_INPUT], min(_real_length(np.asarray(inputs[ENCODER_INPUT])[0]), max_tokens))
        target = _first_row(inputs[DECODER_INPUT], min(_real_length(np.asarray(inputs[DECODER_INPUT])[0]), max_tokens))
        return {ENCODER_INPUT: source, DECODER_INPUT: target}, {SOURCE: source[0].tolist(), TARGET: target[0].tolist()}
    length = min(int(np.sum(np.asarray(inputs["padding_mask"])[0])) or 1, max_tokens)
    example = {key: _first_row(inputs[key], length) for key in _BERT_SEQUENCE_INPUTS if key in inputs}
    if "mask_positions" in inputs:  # a masked LM predicts at these positions: keep the ones still inside
        positions = [p for p in np.asarray(inputs["mask_positions"])[0].tolist() if 0 <= p < length] or [0]
        example["mask_positions"] = np.asarray([positions], dtype=np.asarray(inputs["mask_positions"]).dtype)
    return example, {TOKENS: example["token_ids"][0].tolist()}


def layer_streams(path, streams):
    """``(query stream, key stream)`` of the attention layer at ``path`` (a translator's layer names
    say which side it belongs to; a one-stream model attends within its tokens)."""
    if TOKENS in streams:
        return TOKENS, TOKENS
    if "cross_attention" in path:
        return TARGET, SOURCE
    return (SOURCE, SOURCE) if path.startswith("encoder") else (TARGET, TARGET)


def attention_maps(model, inputs):
    """``[(layer path, weights (heads, target_len, source_len))]`` of one example, in call order."""
    with recorded_attention_scores(attention_layers(model)) as records:
        model(inputs, training=False)
    return [(layer.path, np.asarray(weights, dtype=np.float32)[0]) for layer, weights in records]


# Whitespace tokens (a character model's "\n" and " ") would be invisible labels.
_VISIBLE_WHITESPACE = str.maketrans({"\n": "\\n", "\t": "\\t", "\r": "\\r", " ": "·"})


def token_labels(ids, vocabulary):
    """Printable axis labels of token ``ids`` (``#id`` when no vocabulary is known).

    Example:
        >>> token_labels([0, 1, 7], [" ", "a b"])
        ['·', 'a·b', '#7']
    """
    return [vocabulary[i].translate(_VISIBLE_WHITESPACE) if vocabulary is not None and 0 <= i < len(vocabulary)
            else f"#{i}" for i in ids]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _draw_heads(plt, weights, query_labels, key_labels, title):
    heads, rows, columns = weights.shape
    per_row = min(heads, HEADS_PER_ROW)
    grid_rows = math.ceil(heads / per_row)
    cell = 0.2  # inches per token: room for a label
    figure, axes = plt.subplots(grid_rows, per_row, squeeze=False, constrained_layout=True,
                                figsize=(per_row * (cell * columns + 1.0) + 0.8, grid_rows * (cell * rows + 1.0) + 0.4))
    for head, axis in enumerate(axes.flat):
        if head >= heads:
            axis.axis("off")
            continue
        image = axis.imshow(weights[head], cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
        axis.set_title(f"head {head}", fontsize=8)
        axis.set_xticks(range(columns), key_labels, rotation=90, fontsize=6)
        axis.set_yticks(range(rows), query_labels, fontsize=6)
        axis.tick_params(length=0)
    figure.colorbar(image, ax=axes, shrink=0.6, label="attention weight")
    figure.suptitle(title, fontsize=9)
    return figure


def attention_image(weights, query_labels, key_labels, title):
    """One layer's heads side by side as an RGBA image ``(1, height, width, 4)`` uint8.

    Args:
        weights: ``(num_heads, target_len, source_len)`` attention weights (rows sum to 1).
        query_labels, key_labels: tick labels of the rows and of the columns.
        title: written above the heads.
    """
    plt = _pyplot()
    with warnings.catch_warnings():
        # A training log must stay quiet: tokens in scripts the installed fonts lack (Chinese, say)
        # draw as boxes, and a layout that cannot fit every label is still worth a look.
        warnings.simplefilter("ignore", UserWarning)  # (matplotlib attributes its warnings to the caller)
        figure = _draw_heads(plt, weights, query_labels, key_labels, title)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return tf.image.decode_png(buffer.getvalue(), channels=4)[tf.newaxis]


class AttentionImages(RunWriterCallback):
    """At every evaluation, one image per attention layer of the model for a fixed validation example.

    Does nothing for a model without :class:`MultiHeadAttention` layers (an RNN, a BiLSTM tagger).

    Args:
        log_dir: the run's TensorBoard folder; images go to its ``attention`` run.
        validation_data: batches ``(inputs, labels[, weights])``; the example is taken from the first.
        vocabulary: token names by id: a list, or ``{"source": list, "target": list}`` for a
            translator; ``None`` labels tokens by id.
        max_tokens: the longest stream shown.
    """

    run_name = ATTENTION_RUN

    def __init__(self, log_dir, validation_data, vocabulary=None, max_tokens=MAX_TOKENS):
        super().__init__(log_dir)
        self.validation_data = validation_data
        self.vocabulary = vocabulary
        self.max_tokens = max_tokens
        self._example = None

    def _vocabulary(self, stream):
        return self.vocabulary.get(stream) if isinstance(self.vocabulary, dict) else self.vocabulary

    def on_epoch_end(self, epoch, logs=None):
        if not attention_layers(self.model):
            return
        if self._example is None:
            # Taken after the first evaluation has read the validation data once (a cached dataset
            # is complete by then; reading one batch of a half-filled cache would discard it).
            inputs = next(iter(self.validation_data))[0]
            self._example = attention_example(inputs, self.max_tokens)
        inputs, streams = self._example
        labels = {stream: token_labels(ids, self._vocabulary(stream)) for stream, ids in streams.items()}
        with self.writer().as_default():
            for path, weights in attention_maps(self.model, inputs):
                query, key = layer_streams(path, streams)
                title = f"{path}, step {self.global_step}: each row ({query} token) attends over the columns " \
                        f"({key} tokens)"
                tf.summary.image(path, attention_image(weights, labels[query], labels[key], title),
                                 step=self.global_step)
        self.flush_events()
