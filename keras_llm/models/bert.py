"""BERT-style encoder (Devlin et al., 2019) built with the Functional API."""

import dataclasses

import keras
from keras import ops

from keras_llm.layers import FirstToken, PositionEmbedding, ReversibleEmbedding, TransformerEncoderBlock
from keras_llm.models.config import ConfigMixin, check_transformer_config

# Layer names are a contract: keras_llm.checkpoints maps Hugging Face weights onto them, and the
# classifier and tagger runs find a backbone nested in their models as BERT_BACKBONE.
BERT_BACKBONE = "bert_backbone"
TOKEN_EMBEDDING = "token_embedding"
POSITION_EMBEDDING = "position_embedding"
SEGMENT_EMBEDDING = "segment_embedding"
EMBEDDINGS_NORM = "embeddings_norm"
BLOCK_PREFIX = "encoder_block_"
POOLER = "pooler"
FINAL_NORM = "final_norm"  # only in pre-LN encoders (norm_first=True)

_FirstToken = FirstToken  # its name before it moved to keras_llm.layers.heads


@dataclasses.dataclass
class BertConfig(ConfigMixin):
    """Hyper-parameters of a BERT encoder (names follow Hugging Face's ``config.json`` loosely).

    Args:
        vocab_size: WordPiece vocabulary size.
        hidden_dim: model width.
        num_layers: encoder blocks.
        num_heads: attention heads; must divide ``hidden_dim``.
        intermediate_dim: feed-forward width; defaults to ``4 * hidden_dim``.
        max_length: size of the position table.
        type_vocab_size: number of segment ids.
        dropout: dropout on embeddings, attention weights and residual branches.
        layer_norm_epsilon: 1e-12 as in BERT.
        activation: ``"gelu"`` (exact erf GELU, as BERT's checkpoints) or ``"relu"``/``"gelu_tanh"``.
        norm_first: pre-LN blocks and a final LayerNorm (for models trained from scratch: they train at
            learning rates where BERT's post-LN blocks stall, see docs/benchmarks.md "Fine-tuning
            defaults"); False (post-LN) is BERT's layout and the one every pretrained checkpoint has.
    """

    vocab_size: int
    hidden_dim: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_dim: int | None = None
    max_length: int = 512
    type_vocab_size: int = 2
    dropout: float = 0.1
    layer_norm_epsilon: float = 1e-12
    activation: str = "gelu"
    norm_first: bool = False

    def __post_init__(self):
        check_transformer_config(self, ("vocab_size", "hidden_dim", "num_layers", "num_heads", "intermediate_dim",
                                        "max_length", "type_vocab_size"))


def bert_inputs():
    """The three named inputs every BERT model here takes."""
    return {
        "token_ids": keras.Input((None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input((None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input((None,), dtype="int32", name="padding_mask"),
    }


def bert_encoder(inputs, config):
    """Embeddings and encoder blocks on symbolic ``inputs``; returns ``(sequence_output, token_embedding)``.

    Shared by the backbone (which adds the pooler) and the masked-LM model (which reuses
    ``token_embedding`` as its tied output layer), so both have the same layer names.
    """
    normal = keras.initializers.TruncatedNormal(stddev=0.02)
    token_embedding = ReversibleEmbedding(config.vocab_size, config.hidden_dim, embeddings_initializer=normal,
                                          name=TOKEN_EMBEDDING)
    tokens = token_embedding(inputs["token_ids"])
    positions = PositionEmbedding(config.max_length, initializer=normal, name=POSITION_EMBEDDING)(tokens)
    segments = keras.layers.Embedding(config.type_vocab_size, config.hidden_dim, embeddings_initializer=normal,
                                      name=SEGMENT_EMBEDDING)(inputs["segment_ids"])
    x = keras.layers.Add(name="embeddings_sum")([tokens, positions, segments])
    x = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name=EMBEDDINGS_NORM)(x)
    x = keras.layers.Dropout(config.dropout, name="embeddings_dropout")(x)
    for index in range(config.num_layers):
        x = TransformerEncoderBlock(
            config.num_heads, config.intermediate_dim, dropout=config.dropout, activation=config.activation,
            norm_first=config.norm_first, layer_norm_epsilon=config.layer_norm_epsilon,
            name=f"{BLOCK_PREFIX}{index}")(x, padding_mask=inputs["padding_mask"])
    if config.norm_first:  # pre-LN blocks leave the residual stream un-normalised
        x = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name=FINAL_NORM)(x)
    return x, token_embedding


def build_bert_backbone(config, name=BERT_BACKBONE):
    """Token + position + segment embeddings, post-LN encoder blocks, and a tanh pooler.

    Args:
        config: a :class:`BertConfig`.

    Returns:
        ``keras.Model`` taking a dict ``token_ids``, ``segment_ids``, ``padding_mask``
        (each int ``(batch, seq_len)``; mask 1 for real tokens) and returning a dict
        ``sequence_output`` ``(batch, seq_len, hidden_dim)`` and ``pooled_output``
        ``(batch, hidden_dim)`` (tanh(W·h_[CLS] + b)).

    Example:
        >>> backbone = build_bert_backbone(BertConfig(vocab_size=100, hidden_dim=32, num_layers=2, num_heads=2))
        >>> ids = keras.ops.array([[2, 5, 6, 3, 0]])
        >>> out = backbone({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": ids > 0})
        >>> out["sequence_output"].shape, out["pooled_output"].shape
        ((1, 5, 32), (1, 32))
    """
    inputs = bert_inputs()
    x, _ = bert_encoder(inputs, config)
    first_token = FirstToken(name="cls_token")(x)
    pooled = keras.layers.Dense(config.hidden_dim, activation="tanh",
                                kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                                name=POOLER)(first_token)
    return keras.Model(inputs, {"sequence_output": x, "pooled_output": pooled}, name=name)


def mean_pool(sequence_output, padding_mask, normalize=True):
    """Sentence embedding: the mean over real tokens, L2-normalised (sentence-transformers' pooling).

    Args:
        sequence_output: ``(batch, seq_len, dim)``.
        padding_mask: ``(batch, seq_len)``, 1 for real tokens.

    Returns:
        ``(batch, dim)`` float32.
    """
    mask = ops.cast(ops.expand_dims(padding_mask, -1), "float32")
    total = ops.sum(ops.cast(sequence_output, "float32") * mask, axis=1)
    pooled = total / ops.maximum(ops.sum(mask, axis=1), 1e-9)
    if not normalize:
        return pooled
    return pooled / ops.maximum(ops.sqrt(ops.sum(pooled * pooled, axis=-1, keepdims=True)), 1e-12)
