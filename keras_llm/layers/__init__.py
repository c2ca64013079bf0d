"""Keras layers of the zoo: attention, embeddings, feed-forward, Transformer blocks, RNN cells, heads.

Only ``keras.ops`` is used here, so the layers stay backend-portable.
"""

from keras_llm.layers.attention import (
    MultiHeadAttention,
    attention_weights,
    empty_attention_cache,
    recorded_attention_scores,
    scaled_dot_product_attention,
)
from keras_llm.layers.embeddings import (
    PositionEmbedding,
    ReversibleEmbedding,
    SinusoidalPositionEncoding,
    TokenAndPositionEmbedding,
)
from keras_llm.layers.feed_forward import FeedForward
from keras_llm.layers.heads import FirstToken, GatherPositions, MLMBias, PaddingMaskToBool
from keras_llm.layers.masks import causal_mask
from keras_llm.layers.recurrent import GRUCell, LSTMCell, SimpleRNNCell
from keras_llm.layers.transformer import TransformerDecoderBlock, TransformerEncoderBlock

__all__ = [
    "FeedForward",
    "FirstToken",
    "GRUCell",
    "GatherPositions",
    "LSTMCell",
    "MLMBias",
    "MultiHeadAttention",
    "PaddingMaskToBool",
    "PositionEmbedding",
    "ReversibleEmbedding",
    "SimpleRNNCell",
    "SinusoidalPositionEncoding",
    "TokenAndPositionEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
    "attention_weights",
    "causal_mask",
    "empty_attention_cache",
    "recorded_attention_scores",
    "scaled_dot_product_attention",
]
