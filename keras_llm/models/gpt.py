"""GPT-style decoder-only language model built with the Functional API."""

import dataclasses

import keras

from keras_llm.errors import UserInputError
from keras_llm.layers import PositionEmbedding, ReversibleEmbedding, TransformerDecoderBlock
from keras_llm.models.config import ConfigMixin, check_transformer_config

# Layer names are a contract: keras_llm.generation finds the pieces of a (re)loaded
# GPT by these names to run them with a key/value cache.
TOKEN_EMBEDDING = "token_embedding"
POSITION_EMBEDDING = "position_embedding"
BLOCK_PREFIX = "decoder_block_"
FINAL_NORM = "final_norm"
LM_HEAD = "lm_head"
GPT_ACTIVATIONS = ("gelu", "gelu_tanh", "relu")


@dataclasses.dataclass
class GPTConfig(ConfigMixin):
    """Hyper-parameters of a GPT.

    Args:
        vocab_size: number of token ids.
        max_length: context length (size of the learned position table).
        num_layers: decoder blocks.
        num_heads: attention heads per block; must divide ``hidden_dim``.
        hidden_dim: model width.
        intermediate_dim: feed-forward width; defaults to ``4 * hidden_dim``.
        dropout: dropout on embeddings, attention weights and residual branches.
        tie_weights: reuse the token embedding as the output layer (GPT-2 does).
        layer_norm_epsilon: LayerNorm epsilon.
        activation: feed-forward activation: ``"gelu"`` (exact erf form, the default) or
            ``"gelu_tanh"`` (the tanh approximation, Hugging Face's ``gelu_new``, which GPT-2
            was trained with), or ``"relu"``.
    """

    vocab_size: int
    max_length: int = 64
    num_layers: int = 4
    num_heads: int = 4
    hidden_dim: int = 128
    intermediate_dim: int | None = None
    dropout: float = 0.0
    tie_weights: bool = True
    layer_norm_epsilon: float = 1e-5
    activation: str = "gelu"

    def __post_init__(self):
        check_transformer_config(
            self, ("vocab_size", "max_length", "num_layers", "num_heads", "hidden_dim", "intermediate_dim"))
        if self.activation not in GPT_ACTIVATIONS:
            raise UserInputError(f"GPTConfig.activation must be one of {GPT_ACTIVATIONS}; got {self.activation!r}")

    @property
    def head_dim(self):
        return self.hidden_dim // self.num_heads


def build_gpt(config, name="gpt"):
    """Build a decoder-only Transformer: token ids → next-token logits.

    Pre-LayerNorm blocks (GPT-2), learned positions, GELU (exact unless the config says
    ``gelu_tanh``), biases on every projection, optional tied output layer. Logits are
    float32 even under mixed precision.

    Args:
        config: a :class:`GPTConfig`.

    Returns:
        ``keras.Model`` mapping int ``(batch, seq_len ≤ max_length)`` to
        ``(batch, seq_len, vocab_size)`` logits.

    Example:
        >>> model = build_gpt(GPTConfig(vocab_size=65))
        >>> model(keras.ops.zeros((2, 16), "int32")).shape
        (2, 16, 65)
    """
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    token_embedding = ReversibleEmbedding(
        config.vocab_size, config.hidden_dim,
        embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02), name=TOKEN_EMBEDDING)
    tokens = token_embedding(token_ids)
    positions = PositionEmbedding(
        config.max_length, initializer=keras.initializers.RandomNormal(stddev=0.02),
        name=POSITION_EMBEDDING)(tokens)
    x = keras.layers.Dropout(config.dropout, name="embedding_dropout")(tokens + positions)
    for index in range(config.num_layers):
        x = TransformerDecoderBlock(
            config.num_heads, config.intermediate_dim, dropout=config.dropout, activation=config.activation,
            norm_first=True, layer_norm_epsilon=config.layer_norm_epsilon, cross_attention=False,
            name=f"{BLOCK_PREFIX}{index}")(x)
    x = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name=FINAL_NORM)(x)
    if config.tie_weights:
        logits = token_embedding(x, reverse=True)
    else:
        logits = keras.layers.Dense(config.vocab_size, use_bias=False, dtype="float32", name=LM_HEAD)(x)
    return keras.Model(token_ids, logits, name=name)


def parameter_count(model):
    """Trainable parameters, counting a tied embedding once."""
    return int(sum(keras.ops.size(v) for v in model.trainable_variables))
