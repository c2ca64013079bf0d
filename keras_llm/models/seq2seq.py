"""Encoder–decoder Transformer (Vaswani et al., 2017) for translation, built with the Functional API.

Layer names are a contract: :mod:`keras_llm.generation.seq2seq_search` and the exporter find the
pieces of a (re)loaded model by these names (use :func:`seq2seq_layers`) to decode with caches:

- ``encoder_token_embedding`` / ``decoder_token_embedding`` (``ReversibleEmbedding``), or one
  ``shared_token_embedding`` used by both sides when ``shared_vocabulary=True``;
- ``encoder_position_embedding`` / ``decoder_position_embedding``;
- ``encoder_embedding_norm`` / ``decoder_embedding_norm`` (present only with ``embedding_norm=True``:
  a LayerNorm on token + position embeddings, as BERT has; what a BERT warm start needs);
- ``encoder_block_{i}`` (``TransformerEncoderBlock``), ``decoder_block_{i}``
  (``TransformerDecoderBlock`` with cross-attention);
- ``encoder_final_norm`` / ``decoder_final_norm`` (present only with ``norm_first=True``: pre-LN
  stacks need a last LayerNorm, post-LN blocks already end in one);
- ``lm_head`` (a float32 ``Dense``; absent when the target embedding is tied, then the logits are
  ``decoder_token_embedding(x, reverse=True)``).

Token id 0 is padding on both sides: padding masks are computed from the ids.
"""

import dataclasses

import keras
from keras import ops

from keras_llm.errors import UserInputError
from keras_llm.layers import (
    PositionEmbedding,
    ReversibleEmbedding,
    SinusoidalPositionEncoding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)
from keras_llm.models.config import ConfigMixin, check_transformer_config

ENCODER_INPUT = "encoder_token_ids"
DECODER_INPUT = "decoder_token_ids"
# The layer names of the contract above, each written once.
ENCODER_TOKEN_EMBEDDING = "encoder_token_embedding"
DECODER_TOKEN_EMBEDDING = "decoder_token_embedding"
SHARED_TOKEN_EMBEDDING = "shared_token_embedding"
ENCODER_POSITION_EMBEDDING = "encoder_position_embedding"
DECODER_POSITION_EMBEDDING = "decoder_position_embedding"
ENCODER_BLOCK_PREFIX = "encoder_block_"
DECODER_BLOCK_PREFIX = "decoder_block_"
ENCODER_EMBEDDING_NORM = "encoder_embedding_norm"
DECODER_EMBEDDING_NORM = "decoder_embedding_norm"
ENCODER_FINAL_NORM = "encoder_final_norm"
DECODER_FINAL_NORM = "decoder_final_norm"
LM_HEAD = "lm_head"
_POSITION_EMBEDDING = {"encoder": ENCODER_POSITION_EMBEDDING, "decoder": DECODER_POSITION_EMBEDDING}
_BLOCK_PREFIX = {"encoder": ENCODER_BLOCK_PREFIX, "decoder": DECODER_BLOCK_PREFIX}
_EMBEDDING_NORM = {"encoder": ENCODER_EMBEDDING_NORM, "decoder": DECODER_EMBEDDING_NORM}


def _name(side, part):
    return f"{side}_{part}"


@dataclasses.dataclass
class Seq2SeqConfig(ConfigMixin):
    """Hyper-parameters of an encoder–decoder Transformer.

    Args:
        source_vocabulary_size, target_vocabulary_size: token ids per side (0 = padding).
        num_encoder_layers, num_decoder_layers: blocks per side.
        num_heads: attention heads; must divide ``hidden_dim``.
        hidden_dim: model width.
        intermediate_dim: feed-forward width; defaults to ``4 * hidden_dim``.
        max_source_length: longest encoder input (size of its position table).
        max_target_length: longest decoder input, the start token included.
        dropout: on embeddings, attention weights and residual branches.
        norm_first: pre-LN blocks (stable at higher learning rates) or post-LN (the paper).
        tie_target_embeddings: the decoder's token embedding is also the output layer.
        shared_vocabulary: one token embedding for both sides (needs equal vocabulary sizes).
        position: ``"learned"`` or ``"sinusoidal"`` position embeddings.
        activation: feed-forward activation (``"relu"``, ``"gelu"``, ``"gelu_tanh"``).
        layer_norm_epsilon: LayerNorm epsilon.
        embedding_norm: a LayerNorm after token + position embeddings on both sides (BERT's
            embeddings; set by a BERT warm start, :mod:`keras_llm.checkpoints.bert2bert`).
    """

    source_vocabulary_size: int
    target_vocabulary_size: int
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    num_heads: int = 4
    hidden_dim: int = 128
    intermediate_dim: int | None = None
    max_source_length: int = 32
    max_target_length: int = 32
    dropout: float = 0.1
    norm_first: bool = True
    tie_target_embeddings: bool = True
    shared_vocabulary: bool = False
    position: str = "learned"
    activation: str = "relu"
    layer_norm_epsilon: float = 1e-5
    embedding_norm: bool = False

    def __post_init__(self):
        check_transformer_config(self, (
            "source_vocabulary_size", "target_vocabulary_size", "num_encoder_layers", "num_decoder_layers",
            "num_heads", "hidden_dim", "intermediate_dim", "max_source_length", "max_target_length"))
        if self.shared_vocabulary and self.source_vocabulary_size != self.target_vocabulary_size:
            raise UserInputError(
                "Seq2SeqConfig.shared_vocabulary needs source_vocabulary_size == target_vocabulary_size; "
                f"got {self.source_vocabulary_size} and {self.target_vocabulary_size}")
        if self.position not in ("learned", "sinusoidal"):
            raise UserInputError(f"Seq2SeqConfig.position must be 'learned' or 'sinusoidal'; got {self.position!r}")
        if self.activation not in ("relu", "gelu", "gelu_tanh"):
            raise UserInputError(
                f"Seq2SeqConfig.activation must be 'relu', 'gelu' or 'gelu_tanh'; got {self.activation!r}")

    @property
    def head_dim(self):
        return self.hidden_dim // self.num_heads


def _position_layer(config, side, max_length):
    name = _POSITION_EMBEDDING[side]
    if config.position == "sinusoidal":
        return SinusoidalPositionEncoding(max_length, name=name)
    return PositionEmbedding(max_length, initializer=keras.initializers.RandomNormal(stddev=0.02), name=name)


def _embed(config, side, token_ids, token_embedding, max_length):
    tokens = token_embedding(token_ids)
    positions = _position_layer(config, side, max_length)(tokens)
    x = tokens + positions
    if config.embedding_norm:
        x = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name=_EMBEDDING_NORM[side])(x)
    return keras.layers.Dropout(config.dropout, name=_name(side, "embedding_dropout"))(x)


def build_seq2seq_transformer(config, name="seq2seq_transformer"):
    """Build the translator: source ids + shifted target ids → next-target-token logits.

    Args:
        config: a :class:`Seq2SeqConfig`.

    Returns:
        ``keras.Model`` taking ``{"encoder_token_ids": int32 (batch, src_len ≤ max_source_length),
        "decoder_token_ids": int32 (batch, tgt_len ≤ max_target_length)}`` and returning float32
        logits ``(batch, tgt_len, target_vocabulary_size)``. Id 0 is padding: encoder padding is
        masked in encoder self-attention and in cross-attention, decoder self-attention is causal.

    Example:
        >>> model = build_seq2seq_transformer(Seq2SeqConfig(100, 120, hidden_dim=32))
        >>> model({"encoder_token_ids": keras.ops.ones((2, 7), "int32"),
        ...        "decoder_token_ids": keras.ops.ones((2, 5), "int32")}).shape
        (2, 5, 120)
    """
    encoder_ids = keras.Input((None,), dtype="int32", name=ENCODER_INPUT)
    decoder_ids = keras.Input((None,), dtype="int32", name=DECODER_INPUT)
    encoder_padding = ops.not_equal(encoder_ids, 0)
    decoder_padding = ops.not_equal(decoder_ids, 0)
    init = keras.initializers.RandomNormal(stddev=0.02)
    if config.shared_vocabulary:
        source_embedding = target_embedding = ReversibleEmbedding(
            config.target_vocabulary_size, config.hidden_dim, embeddings_initializer=init,
            name=SHARED_TOKEN_EMBEDDING)
    else:
        source_embedding = ReversibleEmbedding(config.source_vocabulary_size, config.hidden_dim,
                                               embeddings_initializer=init, name=ENCODER_TOKEN_EMBEDDING)
        target_embedding = ReversibleEmbedding(config.target_vocabulary_size, config.hidden_dim,
                                               embeddings_initializer=init, name=DECODER_TOKEN_EMBEDDING)
    block_args = dict(dropout=config.dropout, activation=config.activation, norm_first=config.norm_first,
                      layer_norm_epsilon=config.layer_norm_epsilon)

    x = _embed(config, "encoder", encoder_ids, source_embedding, config.max_source_length)
    for index in range(config.num_encoder_layers):
        x = TransformerEncoderBlock(config.num_heads, config.intermediate_dim, **block_args,
                                    name=f"{ENCODER_BLOCK_PREFIX}{index}")(x, padding_mask=encoder_padding)
    if config.norm_first:
        x = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name=ENCODER_FINAL_NORM)(x)
    encoder_output = x

    y = _embed(config, "decoder", decoder_ids, target_embedding, config.max_target_length)
    for index in range(config.num_decoder_layers):
        y = TransformerDecoderBlock(config.num_heads, config.intermediate_dim, **block_args, cross_attention=True,
                                    name=f"{DECODER_BLOCK_PREFIX}{index}")(
            y, encoder_output, decoder_padding_mask=decoder_padding, encoder_padding_mask=encoder_padding)
    if config.norm_first:
        y = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name=DECODER_FINAL_NORM)(y)
    if config.tie_target_embeddings:
        logits = target_embedding(y, reverse=True)
    else:
        logits = keras.layers.Dense(config.target_vocabulary_size, dtype="float32", name=LM_HEAD)(y)
    return keras.Model({ENCODER_INPUT: encoder_ids, DECODER_INPUT: decoder_ids}, logits, name=name)


def seq2seq_layers(model):
    """The named pieces of a model from :func:`build_seq2seq_transformer` (built or reloaded).

    Returns:
        dict with ``encoder_token_embedding``, ``decoder_token_embedding`` (the same layer when the
        vocabulary is shared), ``encoder_position_embedding``, ``decoder_position_embedding``,
        ``encoder_embedding_norm``, ``decoder_embedding_norm``, ``encoder_blocks``,
        ``decoder_blocks`` (lists), ``encoder_final_norm``, ``decoder_final_norm`` and ``lm_head``
        (each None when absent).
    """
    by_name = {layer.name: layer for layer in model.layers}

    def blocks(side):
        found = []
        while f"{_BLOCK_PREFIX[side]}{len(found)}" in by_name:
            found.append(by_name[f"{_BLOCK_PREFIX[side]}{len(found)}"])
        return found

    shared = by_name.get(SHARED_TOKEN_EMBEDDING)
    parts = {
        "encoder_token_embedding": shared or by_name.get(ENCODER_TOKEN_EMBEDDING),
        "decoder_token_embedding": shared or by_name.get(DECODER_TOKEN_EMBEDDING),
        "encoder_position_embedding": by_name.get(ENCODER_POSITION_EMBEDDING),
        "decoder_position_embedding": by_name.get(DECODER_POSITION_EMBEDDING),
        "encoder_embedding_norm": by_name.get(ENCODER_EMBEDDING_NORM),
        "decoder_embedding_norm": by_name.get(DECODER_EMBEDDING_NORM),
        "encoder_blocks": blocks("encoder"),
        "decoder_blocks": blocks("decoder"),
        "encoder_final_norm": by_name.get(ENCODER_FINAL_NORM),
        "decoder_final_norm": by_name.get(DECODER_FINAL_NORM),
        "lm_head": by_name.get(LM_HEAD),
    }
    required = ("encoder_token_embedding", "decoder_token_embedding", "encoder_position_embedding",
                "decoder_position_embedding", "encoder_blocks", "decoder_blocks")
    missing = [key for key in required if not parts[key]]
    if missing:
        raise ValueError(f"not a model from build_seq2seq_transformer: no layers for {', '.join(missing)}")
    return parts
