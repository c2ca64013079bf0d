"""Transformer encoder and decoder blocks (post-LN as in the paper/BERT, or pre-LN as in GPT-2)."""

import keras

from keras_llm.layers.attention import MultiHeadAttention
from keras_llm.layers.feed_forward import FeedForward
from keras_llm.layers.masks import merge_masks, padding_to_attention_mask


class _TransformerBlockBase(keras.layers.Layer):
    """Shared constructor, config and residual wiring of the two blocks."""

    def __init__(self, num_heads, intermediate_dim, dropout=0.0, activation="gelu", norm_first=False,
                 layer_norm_epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.dropout = float(dropout)
        self.activation = activation
        self.norm_first = bool(norm_first)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.supports_masking = True

    def _check_rank3(self, name, shape):
        if shape is not None and len(shape) != 3:
            raise ValueError(f"`{name}` must have shape (batch, seq_len, hidden_dim); got {tuple(shape)}")

    def _head_dim(self, hidden_dim):
        if hidden_dim is None or hidden_dim % self.num_heads:
            raise ValueError(
                f"num_heads={self.num_heads} must divide the hidden width; got hidden width {hidden_dim}")
        return hidden_dim // self.num_heads

    def _attention(self, name, hidden_dim):
        return MultiHeadAttention(self.num_heads, self._head_dim(hidden_dim), dropout=self.dropout,
                                  dtype=self.dtype_policy, name=name)

    def _norm(self, name):
        return keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon,
                                               dtype=self.dtype_policy, name=name)

    def _make_feed_forward(self, hidden_dim):
        self.feed_forward = FeedForward(self.intermediate_dim, self.activation, self.dropout,
                                        dtype=self.dtype_policy, name="feed_forward")
        self.feed_forward_norm = self._norm("feed_forward_norm")
        self.feed_forward.build((None, None, hidden_dim))
        self.feed_forward_norm.build((None, None, hidden_dim))
        self.residual_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def _residual(self, x, norm, sublayer, training, dropout=True):
        """Pre-LN: x + f(LN(x)). Post-LN: LN(x + f(x)). Returns (new x, extra outputs of f)."""
        out = sublayer(norm(x) if self.norm_first else x)
        extra = ()
        if isinstance(out, tuple):
            out, extra = out[0], out[1:]
        if dropout:
            out = self.residual_dropout(out, training=training)
        x = x + out
        return (x if self.norm_first else norm(x)), extra

    def _feed_forward_residual(self, x, training):
        # FeedForward already applies dropout to its output.
        return self._residual(x, self.feed_forward_norm,
                              lambda h: self.feed_forward(h, training=training), training, dropout=False)[0]

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, intermediate_dim=self.intermediate_dim,
                      dropout=self.dropout, activation=self.activation, norm_first=self.norm_first,
                      layer_norm_epsilon=self.layer_norm_epsilon)
        return config


@keras.saving.register_keras_serializable(package="keras_llm")
class TransformerEncoderBlock(_TransformerBlockBase):
    """Self-attention + feed-forward, each with a residual connection and LayerNorm.

    Args:
        num_heads: attention heads; must divide the input width.
        intermediate_dim: feed-forward hidden width.
        dropout: dropout on attention weights and on each residual branch.
        activation: ``"gelu"`` (exact), ``"gelu_tanh"`` or ``"relu"``.
        norm_first: pre-LN (GPT-2 style) if True, post-LN (paper/BERT) if False.
        layer_norm_epsilon: LayerNorm epsilon.

    Call arguments:
        inputs: ``(batch, seq_len, hidden_dim)``.
        padding_mask: ``(batch, seq_len)``, 1/True for real tokens. A Keras mask on
            ``inputs`` is used when this is not given.
        attention_mask: optional ``(batch, seq_len, seq_len)``.

    Returns:
        ``(batch, seq_len, hidden_dim)``.

    Example:
        >>> block = TransformerEncoderBlock(num_heads=2, intermediate_dim=32)
        >>> block(keras.ops.zeros((2, 5, 8)), padding_mask=keras.ops.ones((2, 5))).shape
        (2, 5, 8)
    """

    def build(self, inputs_shape):
        self._check_rank3("inputs", inputs_shape)
        hidden_dim = inputs_shape[-1]
        self.self_attention = self._attention("self_attention", hidden_dim)
        self.self_attention.build(inputs_shape)
        self.self_attention_norm = self._norm("self_attention_norm")
        self.self_attention_norm.build(inputs_shape)
        self._make_feed_forward(hidden_dim)
        self.built = True

    def call(self, inputs, padding_mask=None, attention_mask=None, training=None, mask=None):
        padding_mask = mask if padding_mask is None else padding_mask
        attention_mask = merge_masks(attention_mask, padding_to_attention_mask(padding_mask, padding_mask))
        x, _ = self._residual(
            inputs, self.self_attention_norm,
            lambda h: self.self_attention(h, attention_mask=attention_mask, training=training),
            training)
        return self._feed_forward_residual(x, training)


@keras.saving.register_keras_serializable(package="keras_llm")
class TransformerDecoderBlock(_TransformerBlockBase):
    """Causal self-attention, optional cross-attention to an encoder, and feed-forward.

    Args:
        num_heads, intermediate_dim, dropout, activation, norm_first, layer_norm_epsilon:
            as in :class:`TransformerEncoderBlock`.
        cross_attention: build a cross-attention sub-block (encoder–decoder models).

    Call arguments:
        decoder_sequence: ``(batch, target_len, hidden_dim)``.
        encoder_sequence: ``(batch, source_len, hidden_dim)``; needed with cross-attention
            unless ``cross_attention_cache`` is given.
        decoder_padding_mask: ``(batch, target_len)``; Keras masks are used when absent.
        encoder_padding_mask: ``(batch, source_len)``.
        self_attention_cache: ``(keys, values)``, each ``(batch, num_heads, max_len, head_dim)``
            (:func:`~keras_llm.layers.attention.empty_attention_cache`); with
            ``self_attention_cache_update_index`` the block decodes incrementally.
        self_attention_cache_update_index: position of ``decoder_sequence[:, 0]``.
        cross_attention_cache: keys/values of the encoder from
            :meth:`compute_cross_attention_cache`, reused at every decoding step.
        use_causal_mask: apply the causal mask in self-attention (default True).

    Returns:
        ``(batch, target_len, hidden_dim)``; with a self-attention cache,
        ``(output, self_attention_cache)``, plus ``cross_attention_cache`` when one was given.

    Example:
        >>> block = TransformerDecoderBlock(2, 32, cross_attention=True)
        >>> block(keras.ops.zeros((1, 4, 8)), keras.ops.zeros((1, 6, 8))).shape
        (1, 4, 8)
    """

    def __init__(self, num_heads, intermediate_dim, dropout=0.0, activation="gelu", norm_first=False,
                 layer_norm_epsilon=1e-5, cross_attention=True, **kwargs):
        super().__init__(num_heads, intermediate_dim, dropout, activation, norm_first,
                         layer_norm_epsilon, **kwargs)
        self.cross_attention = bool(cross_attention)

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        self._check_rank3("decoder_sequence", decoder_sequence_shape)
        self._check_rank3("encoder_sequence", encoder_sequence_shape)
        hidden_dim = decoder_sequence_shape[-1]
        self.self_attention = self._attention("self_attention", hidden_dim)
        self.self_attention.build(decoder_sequence_shape)
        self.self_attention_norm = self._norm("self_attention_norm")
        self.self_attention_norm.build(decoder_sequence_shape)
        if self.cross_attention:
            encoder_sequence_shape = encoder_sequence_shape or decoder_sequence_shape
            self.cross_attention_layer = self._attention("cross_attention", hidden_dim)
            self.cross_attention_layer.build(decoder_sequence_shape, encoder_sequence_shape)
            self.cross_attention_norm = self._norm("cross_attention_norm")
            self.cross_attention_norm.build(decoder_sequence_shape)
        self._make_feed_forward(hidden_dim)
        self.built = True

    def compute_cross_attention_cache(self, encoder_sequence):
        """Project the encoder outputs once: ``(keys, values)``, each ``(batch, num_heads, source_len, head_dim)``."""
        return self.cross_attention_layer.key_value_cache(encoder_sequence)

    def call(self, decoder_sequence, encoder_sequence=None, decoder_padding_mask=None,
             encoder_padding_mask=None, self_attention_cache=None, self_attention_cache_update_index=None,
             cross_attention_cache=None, use_causal_mask=True, training=None,
             decoder_sequence_mask=None, encoder_sequence_mask=None):
        if self.cross_attention and encoder_sequence is None and cross_attention_cache is None:
            raise ValueError("this decoder block has cross-attention: pass `encoder_sequence` "
                             "(batch, source_len, hidden_dim) or a `cross_attention_cache`")
        if not self.cross_attention and (encoder_sequence is not None or cross_attention_cache is not None):
            raise ValueError("this decoder block was built with cross_attention=False; "
                             "do not pass `encoder_sequence`")
        if self_attention_cache is not None and self_attention_cache_update_index is None:
            raise ValueError("`self_attention_cache` needs `self_attention_cache_update_index`")
        decoder_padding_mask = decoder_sequence_mask if decoder_padding_mask is None else decoder_padding_mask
        encoder_padding_mask = encoder_sequence_mask if encoder_padding_mask is None else encoder_padding_mask
        caching = self_attention_cache is not None

        self_mask = None if caching else padding_to_attention_mask(decoder_padding_mask, decoder_padding_mask)
        x, extra = self._residual(
            decoder_sequence, self.self_attention_norm,
            lambda h: self.self_attention(
                h, attention_mask=self_mask, use_causal_mask=use_causal_mask, training=training,
                cache=self_attention_cache, cache_update_index=self_attention_cache_update_index),
            training)
        outputs_extra = list(extra)

        if self.cross_attention:
            cross_mask = padding_to_attention_mask(None, encoder_padding_mask)
            x, extra = self._residual(
                x, self.cross_attention_norm,
                lambda h: self.cross_attention_layer(
                    h, encoder_sequence, attention_mask=cross_mask, training=training,
                    cache=cross_attention_cache),
                training)
            outputs_extra += list(extra)

        x = self._feed_forward_residual(x, training)
        return (x, *outputs_extra) if outputs_extra else x

    def get_config(self):
        config = super().get_config()
        config.update(cross_attention=self.cross_attention)
        return config
