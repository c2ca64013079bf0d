"""Scaled dot-product and multi-head attention, with masks, a key/value cache, and a way to watch the weights."""

import contextlib
import math
import warnings

import keras
from keras import ops

from keras_llm.layers.masks import causal_mask, merge_masks, padding_to_attention_mask

# The fill value keras.layers.Softmax uses for masked logits.
_MASKED_LOGIT = -1e9


def attention_weights(query, key, mask=None):
    """softmax(Q Kᵀ / √d_k) over the last axis, computed in float32.

    Args:
        query: ``(..., query_len, depth)``.
        key: ``(..., key_len, depth)``.
        mask: bool, broadcastable to ``(..., query_len, key_len)``; True = attend.

    Returns:
        ``(..., query_len, key_len)`` weights in float32 (softmax in float32 keeps
        bfloat16/float16 runs stable; callers cast back). A query whose keys are all
        masked gets all-zero weights (so it reads nothing), as in Keras.
    """
    depth = query.shape[-1]
    # Scale the query before the product, as keras.layers.MultiHeadAttention does,
    # so the two agree to float32 round-off.
    query = ops.multiply(query, ops.cast(1.0 / math.sqrt(float(depth)), query.dtype))
    scores = ops.cast(ops.matmul(query, ops.swapaxes(key, -1, -2)), "float32")
    if mask is None:
        return _softmax_over_keys(scores)
    mask = ops.cast(mask, "bool")
    weights = _softmax_over_keys(ops.where(mask, scores, _MASKED_LOGIT))
    return ops.where(mask, weights, 0.0)


def _softmax_over_keys(scores):
    if scores.shape[-1] != 1:  # the usual case: no warning to expect, no filter to set up per call
        return ops.softmax(scores, axis=-1)
    # One key is a legitimate case (an empty source text is one [CLS]/[SEP] position; a cache of one
    # step), but Keras warns about a softmax over an axis of size 1 whenever the shape says so.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are using a softmax over axis -1", category=UserWarning)
        return ops.softmax(scores, axis=-1)


def scaled_dot_product_attention(query, key, value, mask=None):
    """softmax(Q Kᵀ / √d_k) V.

    Args:
        query: ``(..., query_len, depth)``.
        key: ``(..., key_len, depth)``.
        value: ``(..., key_len, value_depth)``.
        mask: optional bool, broadcastable to ``(..., query_len, key_len)``; True = attend.

    Returns:
        ``(..., query_len, value_depth)`` in the dtype of ``value``.

    Example:
        >>> x = keras.random.normal((1, 4, 8))
        >>> scaled_dot_product_attention(x, x, x).shape
        (1, 4, 8)
    """
    if query.shape[-1] is not None and key.shape[-1] is not None and query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"query and key must share their last dimension; got query {query.shape}, key {key.shape}"
        )
    weights = attention_weights(query, key, mask)
    return ops.matmul(ops.cast(weights, value.dtype), value)


def empty_attention_cache(batch_size, num_heads, length, head_dim, dtype="float32"):
    """Zero ``(keys, values)`` for :class:`MultiHeadAttention`, each ``(batch, heads, length, head_dim)``.

    Example:
        >>> keys, values = empty_attention_cache(2, num_heads=4, length=16, head_dim=8)
        >>> keys.shape
        (2, 4, 16, 8)
    """
    shape = (batch_size, num_heads, length, head_dim)
    return ops.zeros(shape, dtype), ops.zeros(shape, dtype)


@contextlib.contextmanager
def recorded_attention_scores(layers):
    """Collect the attention weights of every call of ``layers`` made inside the ``with`` block.

    For looking inside a whole model (TensorBoard's attention maps): call the model eagerly in
    the block and read which layer attended how. Only a Python attribute of each layer is set,
    and the weights recorded are the ones the call computes anyway, so outputs are bit-for-bit
    those of a normal call; a graph traced outside the block (the compiled training step) holds
    no trace of it. Inside a ``tf.function`` the records would be symbolic: call eagerly.

    Args:
        layers: :class:`MultiHeadAttention` layers (e.g. every one in a model).

    Yields:
        a list that receives ``(layer, weights)`` per call, in call order; ``weights`` is float32
        ``(batch, num_heads, target_len, source_len)``.

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> with recorded_attention_scores([mha]) as records:
        ...     _ = mha(keras.random.normal((1, 5, 8)), use_causal_mask=True)
        >>> records[0][1].shape
        (1, 2, 5, 5)
    """
    records = []
    layers = list(layers)
    for layer in layers:
        # A bound method, not the list itself: Keras would track a list attribute as the layer's state.
        layer._score_recorder = records.append  # noqa: SLF001  (our own attribute, read in MultiHeadAttention.call)
    try:
        yield records
    finally:
        for layer in layers:
            layer._score_recorder = None  # noqa: SLF001


def _heads_first(x):
    """``(batch, len, heads, dim)`` ↔ ``(batch, heads, len, dim)``: the layout of the attention
    matmuls and of the key/value cache."""
    return ops.transpose(x, (0, 2, 1, 3))


def _require_rank3(name, shape):
    if shape is not None and len(shape) != 3:
        raise ValueError(f"`{name}` must have shape (batch, seq_len, dim); got shape {tuple(shape)}")


@keras.saving.register_keras_serializable(package="keras_llm")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention (Vaswani et al., 2017) for self- and cross-attention.

    Weight layout equals ``keras.layers.MultiHeadAttention`` (EinsumDense kernels
    ``(dim, num_heads, key_dim)`` and output ``(num_heads, value_dim, output_dim)``), so
    weights copy across one to one.

    Args:
        num_heads: number of heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value; defaults to ``key_dim``.
        dropout: dropout rate on the attention weights.
        use_bias: whether the projections have biases.
        output_dim: width of the output; defaults to the query's last dimension.

    Call arguments:
        query: ``(batch, target_len, query_dim)``.
        value: ``(batch, source_len, value_dim_in)``; defaults to ``query`` (self-attention).
        key: ``(batch, source_len, key_dim_in)``; defaults to ``value``.
        attention_mask: bool ``(batch, target_len, source_len)``; True = attend. Keras
            padding masks on ``query``/``value``/``key`` are merged in automatically.
        use_causal_mask: mask out keys after each query position.
        return_attention_scores: also return weights ``(batch, num_heads, target_len, source_len)``.
        cache: ``(keys, values)``, each ``(batch, num_heads, max_len, key_dim)``
            (:func:`empty_attention_cache`). With ``cache_update_index`` the new keys/values
            of ``value`` are written at that position and attention runs over the whole
            cache (causal masking then uses absolute positions); without it the cache is
            used as precomputed keys/values (cross-attention to a fixed source).
        cache_update_index: int or scalar int tensor, position of ``query[:, 0]``.

    Returns:
        ``output`` ``(batch, target_len, output_dim)``, followed by the scores if
        requested, followed by the updated cache if a cache was given.

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = keras.random.normal((1, 5, 8))
        >>> mha(x, use_causal_mask=True).shape
        (1, 5, 8)
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_dim=None, **kwargs):
        super().__init__(**kwargs)
        if int(num_heads) <= 0 or int(key_dim) <= 0:
            raise ValueError(f"num_heads and key_dim must be positive; got {num_heads}, {key_dim}")
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.output_dim = output_dim
        self.supports_masking = True
        bias = "de" if self.use_bias else None
        policy = self.dtype_policy
        self.query_dense = keras.layers.EinsumDense(
            "abc,cde->abde", (None, self.num_heads, self.key_dim), bias_axes=bias,
            dtype=policy, name="query")
        self.key_dense = keras.layers.EinsumDense(
            "abc,cde->abde", (None, self.num_heads, self.key_dim), bias_axes=bias,
            dtype=policy, name="key")
        self.value_dense = keras.layers.EinsumDense(
            "abc,cde->abde", (None, self.num_heads, self.value_dim), bias_axes=bias,
            dtype=policy, name="value")
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=policy)
        # Masks are consumed by this layer; the projections only pass them along
        # (declaring it avoids Keras' "destroys the mask" warning).
        for projection in (self.query_dense, self.key_dense, self.value_dense):
            projection.supports_masking = True
        self._score_recorder = None  # a list's append while recorded_attention_scores() watches this layer

    def build(self, query_shape, value_shape=None, key_shape=None):
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            _require_rank3(name, shape)
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape)
        self.value_dense.build(value_shape)
        out_dim = self.output_dim or query_shape[-1]
        self.output_dense = keras.layers.EinsumDense(
            "abcd,cde->abe", (None, out_dim), bias_axes="e" if self.use_bias else None,
            dtype=self.dtype_policy, name="attention_output")
        self.output_dense.build((None, None, self.num_heads, self.value_dim))
        self.built = True

    def _project(self, query, key, value):
        """Query, key and value projections, each ``(batch, len, heads, head_dim)``.

        Self-attention (one input) takes the three from one matmul against the three
        kernels side by side: on a CPU, one (dim × 3·dim) product runs faster than three
        (dim × dim) ones, and a decoding step runs fewer operations (docs/benchmarks.md,
        items 9b and 9c). The variables stay separate, so the weight layout is unchanged.
        """
        projections = (self.query_dense, self.key_dense, self.value_dense)
        fusable = (query is key and key is value and self.value_dim == self.key_dim
                   and not any(getattr(p, "quantization_mode", None) for p in projections))
        if not fusable:  # cross-attention, or quantized kernels that need their own call
            return self.query_dense(query), self.key_dense(key), self.value_dense(value)
        kernel = ops.concatenate([ops.cast(p.kernel, query.dtype) for p in projections], axis=1)
        fused = ops.einsum("abc,cde->abde", query, kernel)  # (batch, len, 3 · heads, head_dim)
        if self.use_bias:
            fused = fused + ops.concatenate([ops.cast(p.bias, query.dtype) for p in projections], axis=0)
        heads = self.num_heads
        return fused[:, :, :heads], fused[:, :, heads:2 * heads], fused[:, :, 2 * heads:]

    def key_value_cache(self, source):
        """Keys and values of a fixed ``source`` ``(batch, source_len, dim)``, computed once, as the
        ``cache`` for attending to it: ``(keys, values)``, each ``(batch, heads, source_len, key_dim)``."""
        return _heads_first(self.key_dense(source)), _heads_first(self.value_dense(source))

    def _check_cache(self, cache):
        expected = (self.num_heads, None, self.key_dim)
        shapes = [tuple(part.shape) for part in cache] if isinstance(cache, (tuple, list)) else None
        ok = shapes is not None and len(shapes) == 2 and all(
            len(shape) == 4 and all(e is None or s is None or s == e for s, e in zip(shape[1:], expected))
            for shape in shapes)
        if not ok:
            got = shapes if shapes is not None else tuple(getattr(cache, "shape", ()))
            raise ValueError(
                f"`cache` must be (keys, values), each of shape (batch, {self.num_heads}, max_len, "
                f"{self.key_dim}); got {got}")
        if self.value_dim != self.key_dim:
            raise ValueError("a key/value cache needs value_dim == key_dim")

    def call(self, query, value=None, key=None, attention_mask=None, use_causal_mask=False,
             return_attention_scores=False, training=None, cache=None, cache_update_index=None,
             query_mask=None, value_mask=None, key_mask=None):
        _require_rank3("query", query.shape)
        value = query if value is None else value
        key = value if key is None else key
        _require_rank3("value", value.shape)
        _require_rank3("key", key.shape)
        if value.shape[1] is not None and key.shape[1] is not None and value.shape[1] != key.shape[1]:
            raise ValueError(
                f"`key` and `value` must have the same length; got key {key.shape}, value {value.shape}")
        if value_mask is None and value is query:
            value_mask = query_mask

        offset = 0
        if cache is not None:
            self._check_cache(cache)
        # (batch, heads, len, dim) layout for the batched matmuls; the cache keeps that layout, so
        # a decoding step reads it without a transpose and updates it in place (XLA reuses a
        # loop-carried buffer for a dynamic-update-slice): no copy of the cache per step.
        if cache is not None and cache_update_index is None:
            q = self.query_dense(query)
            k, v = cache
        else:
            q, k, v = self._project(query, key, value)
            k, v = _heads_first(k), _heads_first(v)
            if cache is not None:
                offset = cache_update_index
                start = [0, 0, ops.cast(cache_update_index, "int32"), 0]
                k = ops.slice_update(cache[0], start, ops.cast(k, cache[0].dtype))
                v = ops.slice_update(cache[1], start, ops.cast(v, cache[1].dtype))
                cache = (k, v)
        q = _heads_first(q)
        if cache is not None:
            # The cache covers positions, not the `value` tensor, so its padding mask no longer applies.
            value_mask = key_mask = None

        mask = merge_masks(
            attention_mask,
            padding_to_attention_mask(query_mask, None),
            padding_to_attention_mask(None, value_mask),
            padding_to_attention_mask(None, key_mask),
            causal_mask(ops.shape(q)[2], ops.shape(k)[2], offset) if use_causal_mask else None,
        )
        if mask is not None and len(mask.shape) == 3:
            mask = ops.expand_dims(mask, 1)  # broadcast over heads

        weights = attention_weights(q, ops.cast(k, q.dtype), mask)
        if self._score_recorder is not None:
            self._score_recorder((self, weights))
        probs = self.dropout_layer(ops.cast(weights, self.compute_dtype), training=training)
        context = ops.matmul(probs, ops.cast(v, probs.dtype))
        output = self.output_dense(_heads_first(context))

        results = [output]
        if return_attention_scores:
            results.append(ops.cast(weights, self.compute_dtype))
        if cache is not None:
            results.append(cache)
        return results[0] if len(results) == 1 else tuple(results)

    def compute_mask(self, query, value=None, key=None, query_mask=None, **kwargs):
        return query_mask

    def compute_output_spec(self, query, value=None, key=None, return_attention_scores=False,
                            cache=None, **kwargs):
        out_dim = self.output_dim or query.shape[-1]
        output = keras.KerasTensor((*query.shape[:2], out_dim), dtype=self.compute_dtype)
        results = [output]
        if return_attention_scores:
            source_len = (value if value is not None else query).shape[1]
            if cache is not None:
                source_len = cache[0].shape[2]
            results.append(keras.KerasTensor(
                (query.shape[0], self.num_heads, query.shape[1], source_len), dtype=self.compute_dtype))
        if cache is not None:
            results.append(tuple(keras.KerasTensor(part.shape, dtype=part.dtype) for part in cache))
        return results[0] if len(results) == 1 else tuple(results)

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, key_dim=self.key_dim, value_dim=self.value_dim,
                      dropout=self.dropout, use_bias=self.use_bias, output_dim=self.output_dim)
        return config
