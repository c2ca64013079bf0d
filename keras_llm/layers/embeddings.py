"""Position embeddings (learned and sinusoidal) and token + position embedding."""

import math

import keras
from keras import ops


def _check_sequence_input(inputs, max_length, start_index):
    if len(inputs.shape) < 2:
        raise ValueError(f"inputs must have shape (batch, seq_len, ...); got shape {inputs.shape}")
    length = inputs.shape[1]
    if max_length is not None and length is not None and isinstance(start_index, int):
        if start_index + length > max_length:
            raise ValueError(
                f"sequence of length {length} starting at {start_index} exceeds max_length={max_length}")


@keras.saving.register_keras_serializable(package="keras_llm")
class PositionEmbedding(keras.layers.Layer):
    """Learned absolute position embeddings, one vector per position.

    Args:
        max_length: number of positions.
        initializer: initializer of the ``(max_length, dim)`` table.

    Call arguments:
        inputs: ``(batch, seq_len, dim)``; only its shape is used.
        start_index: absolute position of ``inputs[:, 0]`` (for cached decoding).

    Returns:
        ``(batch, seq_len, dim)`` position vectors (add them to the inputs yourself).

    Example:
        >>> PositionEmbedding(16)(keras.ops.zeros((2, 5, 8))).shape
        (2, 5, 8)
    """

    def __init__(self, max_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.max_length = int(max_length)
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def build(self, inputs_shape):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.max_length, inputs_shape[-1]), initializer=self.initializer)
        self.built = True

    def call(self, inputs, start_index=0):
        _check_sequence_input(inputs, self.max_length, start_index)
        length = ops.shape(inputs)[1]
        table = ops.slice(self.embeddings, [ops.cast(start_index, "int32"), 0],
                          [length, ops.shape(self.embeddings)[1]])
        return ops.broadcast_to(ops.cast(table, self.compute_dtype), ops.shape(inputs))

    def get_config(self):
        config = super().get_config()
        config.update(max_length=self.max_length,
                      initializer=keras.initializers.serialize(self.initializer))
        return config


@keras.saving.register_keras_serializable(package="keras_llm")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Fixed sine/cosine position encoding of "Attention Is All You Need".

    ``PE[p, 2i] = sin(p / base^(2i/dim))``, ``PE[p, 2i+1] = cos(p / base^(2i/dim))``.

    Args:
        max_length: optional bound on positions (checked, not needed for the math).
        base: wavelength base, 10000 in the paper.

    Call arguments:
        inputs: ``(batch, seq_len, dim)``; only its shape is used. ``dim`` must be even.
        start_index: absolute position of ``inputs[:, 0]``.

    Returns:
        ``(batch, seq_len, dim)`` encodings.

    Example:
        >>> SinusoidalPositionEncoding()(keras.ops.zeros((1, 3, 4)))[0, 0]  # [0, 1, 0, 1]
    """

    def __init__(self, max_length=None, base=10000.0, **kwargs):
        super().__init__(**kwargs)
        self.max_length = None if max_length is None else int(max_length)
        self.base = float(base)
        self.supports_masking = True

    def call(self, inputs, start_index=0):
        _check_sequence_input(inputs, self.max_length, start_index)
        dim = inputs.shape[-1]
        if dim is None or dim % 2:
            raise ValueError(f"SinusoidalPositionEncoding needs an even last dimension; got {dim}")
        positions = ops.cast(ops.arange(ops.shape(inputs)[1]) + ops.cast(start_index, "int32"), "float32")
        # Frequencies 1 / base^(2i/dim), for i in [0, dim/2).
        inv_freq = ops.exp(ops.arange(0, dim, 2, dtype="float32") * (-math.log(self.base) / dim))
        angles = ops.expand_dims(positions, 1) * ops.expand_dims(inv_freq, 0)  # (seq, dim/2)
        # Interleave sin/cos so even columns hold sines and odd columns cosines.
        table = ops.reshape(ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1), (-1, dim))
        return ops.broadcast_to(ops.cast(table, self.compute_dtype), ops.shape(inputs))

    def get_config(self):
        config = super().get_config()
        config.update(max_length=self.max_length, base=self.base)
        return config


@keras.saving.register_keras_serializable(package="keras_llm")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token embedding plus a learned or sinusoidal position embedding.

    Args:
        vocab_size: number of token ids.
        max_length: longest sequence (size of the learned position table).
        embedding_dim: output width.
        position: ``"learned"`` or ``"sinusoidal"``.
        mask_zero: treat id 0 as padding and emit a Keras mask.

    Call arguments:
        token_ids: int ``(batch, seq_len)``.
        start_index: absolute position of ``token_ids[:, 0]`` (cached decoding).

    Returns:
        ``(batch, seq_len, embedding_dim)``.

    Example:
        >>> emb = TokenAndPositionEmbedding(100, 16, 8, mask_zero=True)
        >>> emb(keras.ops.array([[5, 6, 0]])).shape
        (1, 3, 8)
    """

    def __init__(self, vocab_size, max_length, embedding_dim, position="learned", mask_zero=False,
                 **kwargs):
        super().__init__(**kwargs)
        if position not in ("learned", "sinusoidal"):
            raise ValueError(f"position must be 'learned' or 'sinusoidal'; got {position!r}")
        self.vocab_size = int(vocab_size)
        self.max_length = int(max_length)
        self.embedding_dim = int(embedding_dim)
        self.position = position
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.token_embedding = keras.layers.Embedding(
            self.vocab_size, self.embedding_dim, mask_zero=self.mask_zero,
            dtype=self.dtype_policy, name="token_embedding")
        if position == "learned":
            self.position_embedding = PositionEmbedding(
                self.max_length, dtype=self.dtype_policy, name="position_embedding")
        else:
            self.position_embedding = SinusoidalPositionEncoding(
                self.max_length, dtype=self.dtype_policy, name="position_embedding")

    def build(self, token_ids_shape):
        self.token_embedding.build(token_ids_shape)
        self.position_embedding.build((*token_ids_shape, self.embedding_dim))
        self.built = True

    def call(self, token_ids, start_index=0):
        if len(token_ids.shape) != 2:
            raise ValueError(f"token_ids must have shape (batch, seq_len); got shape {token_ids.shape}")
        tokens = self.token_embedding(token_ids)
        return tokens + self.position_embedding(tokens, start_index=start_index)

    def compute_mask(self, token_ids, mask=None):
        return self.token_embedding.compute_mask(token_ids) if self.mask_zero else None

    def compute_output_shape(self, token_ids_shape):
        return (*token_ids_shape, self.embedding_dim)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, max_length=self.max_length,
                      embedding_dim=self.embedding_dim, position=self.position,
                      mask_zero=self.mask_zero)
        return config


@keras.saving.register_keras_serializable(package="keras_llm")
class ReversibleEmbedding(keras.layers.Embedding):
    """An ``Embedding`` that can also map hidden states back to vocabulary logits.

    ``call(ids)`` looks ids up; ``call(hidden, reverse=True)`` returns ``hidden · Eᵀ``,
    the tied output layer of GPT-2 and BERT. Using one layer for both keeps the tie
    intact through ``model.save``/``load_model`` (two layers sharing a variable would not be).

    Call arguments:
        inputs: int ``(batch, seq_len)``, or with ``reverse=True`` ``(batch, seq_len, dim)``.
        reverse: compute logits instead of embeddings.

    Returns:
        ``(batch, seq_len, dim)`` embeddings, or ``(batch, seq_len, vocab_size)`` logits in float32
        (logits stay float32 under mixed precision so the softmax/loss is stable).

    Example:
        >>> emb = ReversibleEmbedding(100, 8)
        >>> emb(emb(keras.ops.array([[1, 2]])), reverse=True).shape
        (1, 2, 100)
    """

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        table = ops.cast(self.embeddings, self.compute_dtype)
        return ops.cast(ops.matmul(inputs, ops.transpose(table)), "float32")

    def compute_output_spec(self, inputs, reverse=False):
        if not reverse:
            return super().compute_output_spec(inputs)
        return keras.KerasTensor((*inputs.shape[:-1], self.input_dim), dtype="float32")
