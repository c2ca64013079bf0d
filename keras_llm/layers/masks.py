"""Attention-mask helpers shared by the attention and Transformer layers.

Every mask here is boolean with ``True`` meaning "may attend", the convention of
``keras.layers.MultiHeadAttention``.
"""

from keras import ops


def causal_mask(query_length, key_length, offset=0):
    """Lower-triangular mask of shape ``(query_length, key_length)``.

    Query row ``i`` sits at absolute position ``offset + i`` and may attend key
    column ``j`` iff ``j <= offset + i``. With ``offset=0`` and equal lengths this is
    the usual causal mask; a non-zero ``offset`` (a tensor is fine, for XLA loops)
    is what cached incremental decoding needs.

    Example:
        >>> causal_mask(2, 4, offset=1)   # rows attend keys 0..1 and 0..2
    """
    rows = ops.expand_dims(ops.arange(query_length), 1) + ops.cast(offset, "int32")
    cols = ops.expand_dims(ops.arange(key_length), 0)
    return ops.greater_equal(ops.cast(rows, "int32"), ops.cast(cols, "int32"))


def merge_masks(*masks):
    """Logical AND of the masks that are not ``None`` (broadcasting); ``None`` if all are."""
    merged = None
    for mask in masks:
        if mask is None:
            continue
        mask = ops.cast(mask, "bool")
        merged = mask if merged is None else ops.logical_and(merged, mask)
    return merged


def padding_to_attention_mask(query_mask=None, key_mask=None):
    """Turn per-token padding masks into a ``(batch, query_len, key_len)`` mask.

    Args:
        query_mask: ``(batch, query_len)`` bool/int, or None.
        key_mask: ``(batch, key_len)`` bool/int, or None.
    """
    parts = []
    if query_mask is not None:
        parts.append(ops.expand_dims(ops.cast(query_mask, "bool"), -1))
    if key_mask is not None:
        parts.append(ops.expand_dims(ops.cast(key_mask, "bool"), -2))
    return merge_masks(*parts)
