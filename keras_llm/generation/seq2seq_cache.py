"""Run a (re)loaded encoder–decoder Transformer piece by piece, for cached decoding.

The Functional model from :func:`keras_llm.models.build_seq2seq_transformer` has no cache
inputs; this class finds its layers by name (:func:`keras_llm.models.seq2seq.seq2seq_layers`)
and calls them directly: the encoder once per source, each decoder block's cross-attention
keys/values once per source, and the decoder one token at a time with a self-attention cache.
"""

import tensorflow as tf

from keras_llm.layers import empty_attention_cache
from keras_llm.models.seq2seq import DECODER_INPUT, ENCODER_INPUT, seq2seq_layers


class CachedSeq2Seq:
    """Encoder pass, cross-attention caches and cached decoder steps of a seq2seq model.

    Caches: one ``(keys, values)`` pair per decoder block, each ``(batch, num_heads, length,
    head_dim)`` for self-attention and ``(batch, num_heads, source_len, head_dim)`` for
    cross-attention (separate tensors, so XLA updates them in place while decoding).

    Example:
        >>> stepper = CachedSeq2Seq(model)
        >>> cross, source_mask = stepper.encode(source_ids)         # once per source
        >>> cache = stepper.empty_cache(batch_size=2, length=10)
        >>> logits, cache = stepper.step(start_ids[:, None], cache, cross, source_mask, slot=0)
    """

    def __init__(self, model):
        self.model = model
        parts = seq2seq_layers(model)
        self.__dict__.update(parts)
        self.max_source_length = self.encoder_position_embedding.max_length
        self.max_target_length = self.decoder_position_embedding.max_length
        attention = self.decoder_blocks[0].self_attention
        self.num_heads, self.head_dim = attention.num_heads, attention.key_dim
        self.vocab_size = (self.lm_head.units if self.lm_head is not None
                           else self.decoder_token_embedding.input_dim)

    def encode(self, source_ids):
        """Source ids ``(batch, src_len)`` → ``(cross_cache, source_mask)``.

        ``cross_cache``: every decoder block's cross-attention keys/values; ``source_mask``: bool
        ``(batch, src_len)``, True for real tokens (id ≠ 0).
        """
        source_ids = tf.cast(source_ids, tf.int32)
        mask = tf.not_equal(source_ids, 0)
        x = self.encoder_token_embedding(source_ids)
        x = x + self.encoder_position_embedding(x)
        if self.encoder_embedding_norm is not None:
            x = self.encoder_embedding_norm(x)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=mask)
        if self.encoder_final_norm is not None:
            x = self.encoder_final_norm(x)
        cross = tuple(block.compute_cross_attention_cache(x) for block in self.decoder_blocks)
        return cross, mask

    def empty_cache(self, batch_size, length=None):
        """Zero self-attention caches of ``length`` ≤ max_target_length (default) slots, one per block."""
        length = self.max_target_length if length is None else length
        dtype = self.decoder_blocks[0].compute_dtype
        return tuple(empty_attention_cache(batch_size, self.num_heads, length, self.head_dim, dtype)
                     for _ in self.decoder_blocks)

    def step(self, token_ids, cache, cross_cache, source_mask, slot):
        """Logits ``(batch, len, vocab)`` (float32) for ``token_ids`` at decoder positions ``slot..``.

        Returns ``(logits, updated self-attention cache)``.
        """
        x = self.decoder_token_embedding(tf.cast(token_ids, tf.int32))
        x = x + self.decoder_position_embedding(x, start_index=slot)
        if self.decoder_embedding_norm is not None:
            x = self.decoder_embedding_norm(x)
        layer_caches = []
        for block, layer_cache, layer_cross_cache in zip(self.decoder_blocks, cache, cross_cache):
            x, layer_cache, _ = block(
                x, encoder_padding_mask=source_mask, self_attention_cache=layer_cache,
                self_attention_cache_update_index=slot, cross_attention_cache=layer_cross_cache)
            layer_caches.append(tuple(layer_cache))
        if self.decoder_final_norm is not None:
            x = self.decoder_final_norm(x)
        logits = self.lm_head(x) if self.lm_head is not None else self.decoder_token_embedding(x, reverse=True)
        return tf.cast(logits, tf.float32), tuple(layer_caches)

    def full_logits(self, source_ids, decoder_ids):
        """Logits of a plain (uncached) forward pass, ``(batch, tgt_len, vocab)``."""
        inputs = {ENCODER_INPUT: tf.cast(source_ids, tf.int32), DECODER_INPUT: tf.cast(decoder_ids, tf.int32)}
        return tf.cast(self.model(inputs, training=False), tf.float32)
