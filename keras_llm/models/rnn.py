"""Recurrent baselines: an LSTM/GRU/SimpleRNN language model and a (bidirectional) classifier.

Both builders have two interchangeable recurrent paths: ``use_builtin=True`` uses
``keras.layers.LSTM/GRU/SimpleRNN`` (the fast, fused path), ``use_builtin=False`` wraps the
textbook cells of :mod:`keras_llm.layers.recurrent` in ``keras.layers.RNN`` with the same
settings, so both have the same weights in the same order and, with copied weights, the same
outputs (the tests check this to 1e-5).
"""

import dataclasses

import keras
from keras import ops

from keras_llm.checks import dropout_rate, positive_int
from keras_llm.errors import UserInputError
from keras_llm.layers import GRUCell, LSTMCell, ReversibleEmbedding, SimpleRNNCell
from keras_llm.models.config import ConfigMixin

# Layer names are a contract: rnn_lm_step finds the pieces of a (re)loaded LM by these names.
TOKEN_EMBEDDING = "token_embedding"
RNN_PREFIX = "rnn_"
LM_HEAD = "lm_head"
# With tied weights and a state wider than the embedding: the state is projected down to the
# embedding width before the tied head, so the 10k-word softmax costs what the embedding width
# costs while the LSTM keeps a wide state (Press & Wolf, 2017).
OUTPUT_PROJECTION = "output_projection"
CLASSIFIER_HEAD = "classifier_head"

CELLS = ("lstm", "gru", "simple_rnn")
_BUILTIN = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}
_TEXTBOOK = {"lstm": LSTMCell, "gru": GRUCell, "simple_rnn": SimpleRNNCell}


def _check_common(owner, cell, num_layers, units, embedding_dim, dropout, vocab_size):
    if cell not in CELLS:
        raise UserInputError(f"{owner}: unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
    for name, value in (("vocab_size", vocab_size), ("num_layers", num_layers), ("units", units),
                        ("embedding_dim", embedding_dim)):
        positive_int(f"{owner}: {name}", value)
    dropout_rate(f"{owner}: dropout", dropout)


def recurrent_layer(cell, units, use_builtin=True, return_sequences=True, name=None):
    """One recurrent layer over ``(batch, seq, dim)``: Keras' fused layer or our cell in ``keras.layers.RNN``.

    GRUs use ``reset_after=True`` on both paths (Keras' default, cuDNN's form).
    """
    if use_builtin:
        extra = {"reset_after": True} if cell == "gru" else {}
        return _BUILTIN[cell](units, return_sequences=return_sequences, name=name, **extra)
    extra = {"reset_after": True} if cell == "gru" else {}
    return keras.layers.RNN(_TEXTBOOK[cell](units, **extra), return_sequences=return_sequences, name=name)


@dataclasses.dataclass
class RNNConfig(ConfigMixin):
    """Hyper-parameters of a recurrent language model.

    Args:
        vocab_size: number of token ids.
        cell: ``"lstm"``, ``"gru"`` or ``"simple_rnn"``.
        num_layers: stacked recurrent layers.
        units: state width of every recurrent layer.
        embedding_dim: token embedding width.
        dropout: dropout on the embeddings and on each recurrent layer's outputs (not on the
            recurrent connections, as in Zaremba et al., 2014).
        use_builtin: Keras' fused layers (True) or the textbook cells (False).
        tie_weights: use the token embedding as the output layer; when ``units != embedding_dim``
            a linear layer (``output_projection``) maps the last state to the embedding width first.
    """

    vocab_size: int
    cell: str = "lstm"
    num_layers: int = 1
    units: int = 256
    embedding_dim: int = 128
    dropout: float = 0.0
    use_builtin: bool = True
    tie_weights: bool = False

    def __post_init__(self):
        _check_common("RNNConfig", self.cell, self.num_layers, self.units, self.embedding_dim, self.dropout,
                      self.vocab_size)


def build_rnn_lm(config, name="rnn_lm", **kwargs):
    """Build a recurrent language model: token ids → next-token logits at every position.

    Args:
        config: an :class:`RNNConfig`, or the vocabulary size with the other fields of
            :class:`RNNConfig` as keyword arguments.

    Returns:
        ``keras.Model`` mapping int ``(batch, seq_len)`` (any length) to float32
        ``(batch, seq_len, vocab_size)`` logits; position ``t`` sees tokens ``0..t`` only.
        Layers are named ``token_embedding``, ``rnn_0`` … ``rnn_{n-1}`` and ``lm_head``
        (absent when tied; a tied model whose ``units`` differ from ``embedding_dim`` has an
        ``output_projection`` instead).

    Example:
        >>> model = build_rnn_lm(65, cell="gru", num_layers=2, units=64)
        >>> model(keras.ops.zeros((2, 16), "int32")).shape
        (2, 16, 65)
    """
    if not isinstance(config, RNNConfig):
        config = RNNConfig(config, **kwargs)
    elif kwargs:
        raise UserInputError("build_rnn_lm: pass either an RNNConfig or keyword arguments, not both")
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    embedding = ReversibleEmbedding(config.vocab_size, config.embedding_dim, name=TOKEN_EMBEDDING)
    x = keras.layers.Dropout(config.dropout, name="embedding_dropout")(embedding(token_ids))
    for index in range(config.num_layers):
        x = recurrent_layer(config.cell, config.units, config.use_builtin, name=f"{RNN_PREFIX}{index}")(x)
        x = keras.layers.Dropout(config.dropout, name=f"dropout_{index}")(x)
    if config.tie_weights:
        if config.units != config.embedding_dim:
            x = keras.layers.Dense(config.embedding_dim, name=OUTPUT_PROJECTION)(x)
        logits = embedding(x, reverse=True)
    else:
        logits = keras.layers.Dense(config.vocab_size, dtype="float32", name=LM_HEAD)(x)
    return keras.Model(token_ids, logits, name=name)


def build_rnn_classifier(vocab_size, num_classes, cell="lstm", bidirectional=True, num_layers=1, units=128,
                         embedding_dim=128, dropout=0.0, mask_zero=True, use_builtin=True, name="rnn_classifier"):
    """Build a sequence classifier: token ids (0 = padding) → class logits.

    Args:
        vocab_size: number of token ids, including the padding id 0.
        num_classes: number of output logits.
        cell: ``"lstm"``, ``"gru"`` or ``"simple_rnn"``.
        bidirectional: read the sequence both ways and concatenate the two final states.
        num_layers: stacked recurrent layers (all but the last return sequences).
        units: state width per direction.
        embedding_dim: token embedding width.
        dropout: dropout on the embeddings, between layers and before the head.
        mask_zero: treat id 0 as padding. The Keras mask makes every recurrent layer skip padded
            steps (the state is carried through unchanged), so padding does not change the logits.
        use_builtin: Keras' fused layers (True) or the textbook cells (False).

    Returns:
        ``keras.Model`` mapping int ``(batch, seq_len)`` to float32 ``(batch, num_classes)`` logits.

    Example:
        >>> model = build_rnn_classifier(1000, 2, units=32, embedding_dim=32)
        >>> model(keras.ops.array([[5, 9, 0, 0]])).shape
        (1, 2)
    """
    _check_common("build_rnn_classifier", cell, num_layers, units, embedding_dim, dropout, vocab_size)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise UserInputError(f"build_rnn_classifier: num_classes must be a positive integer; got {num_classes!r}")
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=mask_zero, name=TOKEN_EMBEDDING)(token_ids)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for index in range(num_layers):
        layer = recurrent_layer(cell, units, use_builtin, return_sequences=index < num_layers - 1,
                                name=f"{RNN_PREFIX}{index}")
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"{RNN_PREFIX}{index}")
        x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(layer(x))
    logits = keras.layers.Dense(num_classes, dtype="float32", name=CLASSIFIER_HEAD)(x)
    return keras.Model(token_ids, logits, name=name)


def _rnn_layers(model):
    layers, index = [], 0
    names = {layer.name for layer in model.layers}
    while f"{RNN_PREFIX}{index}" in names:
        layers.append(model.get_layer(f"{RNN_PREFIX}{index}"))
        index += 1
    if not layers or TOKEN_EMBEDDING not in names:
        raise UserInputError(f"model {model.name!r} is not an RNN language model from build_rnn_lm")
    return layers


def rnn_lm_initial_state(model, batch_size):
    """Zero states of every recurrent layer of an RNN LM, for :func:`rnn_lm_step`."""
    states = []
    for layer in _rnn_layers(model):
        sizes = layer.cell.state_size
        sizes = sizes if isinstance(sizes, (list, tuple)) else [sizes]
        states.append([ops.zeros((batch_size, size)) for size in sizes])
    return states


def rnn_lm_step(model, token_ids, states):
    """Advance an RNN LM by one token per row, carrying the recurrent states (O(1) per token).

    Runs the model's own layers cell by cell (dropout is skipped: this is inference), so it
    also works on a model reloaded from ``.keras``. Feeding a sequence one token at a time
    gives the same logits as running the whole sequence through ``model``.

    Args:
        model: a model from :func:`build_rnn_lm`.
        token_ids: int ``(batch,)``, the current token of each row.
        states: from :func:`rnn_lm_initial_state` or the previous step.

    Returns:
        ``(logits (batch, vocab_size) float32, new_states)``.

    Example:
        >>> states = rnn_lm_initial_state(model, 1)
        >>> logits, states = rnn_lm_step(model, keras.ops.array([3]), states)
    """
    embedding = model.get_layer(TOKEN_EMBEDDING)
    x = embedding(ops.convert_to_tensor(token_ids, "int32"))
    new_states = []
    for layer, state in zip(_rnn_layers(model), states):
        x, state = layer.cell(x, list(state), training=False)
        new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
    names = {layer.name for layer in model.layers}
    if LM_HEAD in names:
        logits = model.get_layer(LM_HEAD)(x)
    else:
        if OUTPUT_PROJECTION in names:
            x = model.get_layer(OUTPUT_PROJECTION)(x)
        logits = embedding(x, reverse=True)
    return ops.cast(logits, "float32"), new_states


def rnn_lm_with_states(model):
    """The same RNN LM, also returning its last recurrent layer's output at every position.

    What a continuous cache (:mod:`keras_llm.evaluation.continuous_cache`) stores: the state that
    predicts each next token (Grave et al., 2017, use the LSTM's output ``h_t``).

    Returns:
        ``keras.Model`` mapping int ``(batch, seq)`` to ``[logits (batch, seq, vocab), states (batch, seq, units)]``.

    Example:
        >>> logits, states = rnn_lm_with_states(model)(keras.ops.zeros((1, 8), "int32"))
    """
    return keras.Model(model.inputs[0], [model.outputs[0], _rnn_layers(model)[-1].output], name=f"{model.name}_states")
