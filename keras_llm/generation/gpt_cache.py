"""Run a (re)loaded GPT one step at a time with a key/value cache.

The Functional GPT has no cache inputs; this class finds its layers by the names
``keras_llm.models.gpt`` gives them and calls them directly, each decoder block with
its own ``(keys, values)`` cache.
"""

import tensorflow as tf

from keras_llm.layers import empty_attention_cache
from keras_llm.models import gpt


class CachedGPT:
    """Cached forward pass over a GPT built by :func:`keras_llm.models.build_gpt`.

    The cache is one ``(keys, values)`` pair per decoder block, each tensor
    ``(batch, num_heads, length, head_dim)``. Separate tensors (not one stacked tensor)
    let XLA update each in place inside the decoding loop: stacking copied the whole cache
    at every step.

    Example:
        >>> stepper = CachedGPT(model)
        >>> cache = stepper.empty_cache(batch_size=2)
        >>> logits, cache = stepper(token_ids[:, :5], cache, slot=0)   # prefill 5 tokens
        >>> logits, cache = stepper(token_ids[:, 5:6], cache, slot=5)  # one more token
    """

    def __init__(self, model):
        self.model = model
        self.token_embedding = model.get_layer(gpt.TOKEN_EMBEDDING)
        self.position_embedding = model.get_layer(gpt.POSITION_EMBEDDING)
        self.blocks = []
        while any(layer.name == f"{gpt.BLOCK_PREFIX}{len(self.blocks)}" for layer in model.layers):
            self.blocks.append(model.get_layer(f"{gpt.BLOCK_PREFIX}{len(self.blocks)}"))
        if not self.blocks:
            raise ValueError("model has no decoder blocks named like build_gpt names them")
        self.final_norm = model.get_layer(gpt.FINAL_NORM)
        names = {layer.name for layer in model.layers}
        self.lm_head = model.get_layer(gpt.LM_HEAD) if gpt.LM_HEAD in names else None
        self.max_length = self.position_embedding.max_length
        attention = self.blocks[0].self_attention
        self.num_heads, self.head_dim = attention.num_heads, attention.key_dim
        self.vocab_size = self.token_embedding.input_dim

    def empty_cache(self, batch_size, length=None):
        """Zero caches of ``length`` ≤ ``max_length`` (default) slots, one per block."""
        length = self.max_length if length is None else length
        dtype = self.blocks[0].compute_dtype
        return tuple(empty_attention_cache(batch_size, self.num_heads, length, self.head_dim, dtype)
                     for _ in self.blocks)

    def __call__(self, token_ids, cache, slot):
        """Logits ``(batch, len, vocab)`` for ``token_ids`` placed at cache slots ``slot..``."""
        x = self.token_embedding(token_ids)
        x = x + self.position_embedding(x, start_index=slot)
        layer_caches = []
        for block, layer_cache in zip(self.blocks, cache):
            x, layer_cache = block(x, self_attention_cache=layer_cache, self_attention_cache_update_index=slot)
            layer_caches.append(tuple(layer_cache))
        x = self.final_norm(x)
        logits = self.lm_head(x) if self.lm_head is not None else self.token_embedding(x, reverse=True)
        return tf.cast(logits, tf.float32), tuple(layer_caches)

    def full_logits(self, token_ids):
        """Logits of a plain (uncached) forward pass."""
        return tf.cast(self.model(token_ids, training=False), tf.float32)
