"""The decoding loop: one ``tf.while_loop`` of fixed shapes, XLA-compilable, cached or not.

All rows share one absolute position ``i``. Prompts are right-padded; while ``i`` is
inside a row's prompt the row copies its prompt token instead of the sampled one, so
rows of different prompt lengths decode together with a plain causal mask.

The model sees a window of at most ``max_length`` tokens (its context). When the window
is full it slides: the last ``keep`` tokens are re-encoded at positions ``0..keep-1`` and
decoding continues, so any number of new tokens can be generated (nanoGPT crops its
context the same way; re-encoding half a window at a time keeps most steps cached).
The uncached path uses the same windows, so cached and uncached decoding pick the
same tokens.
"""

import tensorflow as tf

from keras_llm.generation.samplers import select_next_token


def decode(stepper, prompt_ids, prompt_lengths, max_new_tokens, temperature=0.0, top_k=0, top_p=1.0,
           seed=(0, 0), stop_ids=None, use_cache=True, cache_length=None):
    """Generate up to ``max_new_tokens`` tokens after each prompt.

    Args:
        stepper: a :class:`~keras_llm.generation.gpt_cache.CachedGPT`.
        prompt_ids: int32 ``(batch, prompt_len)``, right-padded; every row has ≥ 1 token.
        prompt_lengths: int32 ``(batch,)``, each in ``[1, max_length]``.
        max_new_tokens: int (or scalar tensor outside XLA).
        temperature, top_k, top_p, seed: see :func:`select_next_token`. ``temperature=None`` is
            greedy decoding known when tracing: the loop then holds only an argmax, no sampler.
        stop_ids: int32 ``(num_stop,)``; a row ends at its first stop token (not emitted).
        use_cache: use the key/value cache (fast) or re-run the window (reference).
        cache_length: slots of the cache / width of the window. Defaults to
            ``min(max_length, prompt_len + max_new_tokens)``: a request that fits the context
            never slides, so a smaller cache gives the same tokens and much cheaper steps
            (a step's cost is dominated by moving the cache). Must be a Python int under XLA.

    Returns:
        ``(new_ids, new_lengths)``: int32 ``(batch, max_new_tokens)`` padded with 0, and
        int32 ``(batch,)`` counts of generated tokens.
    """
    prompt_ids = tf.cast(prompt_ids, tf.int32)
    prompt_lengths = tf.cast(prompt_lengths, tf.int32)
    batch = tf.shape(prompt_ids)[0]
    prompt_len = tf.shape(prompt_ids)[1]
    if cache_length is None:
        cache_length = _default_cache_length(stepper.max_length, prompt_ids.shape[1], max_new_tokens,
                                             tf.shape(prompt_ids)[1])
    window = cache_length
    keep = max(window // 2, 1) if isinstance(window, int) else tf.maximum(window // 2, 1)
    stop_ids = tf.zeros((0,), tf.int32) if stop_ids is None else tf.cast(stop_ids, tf.int32)
    seed = tf.cast(seed, tf.int32)
    total = prompt_len + max_new_tokens
    # Extra room after the end so a fixed-size window slice never runs off the buffer.
    buffer = tf.pad(prompt_ids, [[0, 0], [0, max_new_tokens + window]])
    end_index = prompt_lengths + max_new_tokens  # one past each row's last new token
    cache = stepper.empty_cache(batch, window) if use_cache else tf.zeros((0,), tf.float32)
    first_position = tf.constant(1)
    width = prompt_ids.shape[1]
    if use_cache and isinstance(window, int) and width is not None and 1 < width <= window + 1:
        # Encode the padded prompt block but its last column in one pass instead of one step per
        # token. Entries past a shorter row's prompt hold padding; the loop, which starts at the
        # shortest prompt, rewrites each of them before any query can attend to it (causal mask).
        _, cache = stepper(prompt_ids[:, :-1], cache, 0)
        first_position = tf.maximum(tf.reduce_min(prompt_lengths), 1)

    def write(buffer, position, tokens):
        one_hot = tf.one_hot(position, tf.shape(buffer)[1], dtype=tf.int32)[tf.newaxis, :]
        return buffer * (1 - one_hot) + tokens[:, tf.newaxis] * one_hot

    def slide(buffer, start, cache):
        """Start a new window at ``start``: re-encode its first ``keep`` tokens."""
        if not use_cache:
            return start, cache
        recent = tf.slice(buffer, [0, start], [-1, keep])
        _, fresh = stepper(recent, tf.nest.map_structure(tf.zeros_like, cache), 0)
        return start, fresh

    def next_logits(buffer, start, cache, position):
        slot = position - 1 - start
        if use_cache:
            token = tf.slice(buffer, [0, position - 1], [-1, 1])
            logits, cache = stepper(token, cache, slot)
            return logits[:, -1], cache
        view = tf.slice(buffer, [0, start], [-1, window])
        logits = stepper.full_logits(view)
        return tf.gather(logits, slot, axis=1), cache

    # A request that fits its window never slides; leaving the test out then also spares XLA a copy
    # of the whole cache per step (a conditional returns fresh buffers, even from the idle branch).
    never_full = (isinstance(window, int) and isinstance(max_new_tokens, int) and width is not None
                  and width + max_new_tokens <= window)

    def body(position, start, buffer, cache, finished, new_end):
        if not never_full:
            full = position - 1 - start >= window
            start, cache = tf.cond(full, lambda: slide(buffer, position - 1 - keep, cache),
                                   lambda: (start, cache))
        logits, cache = next_logits(buffer, start, cache, position)
        if temperature is None:
            sampled = tf.argmax(logits, axis=-1, output_type=tf.int32)
        else:
            sampled = select_next_token(logits, temperature, top_k, top_p, seed + tf.stack([0, position]))
        in_prompt = position < prompt_lengths
        token = tf.where(in_prompt, buffer[:, position], sampled)
        stopped = tf.logical_and(~in_prompt, tf.reduce_any(token[:, tf.newaxis] == stop_ids[tf.newaxis], -1))
        stopped = tf.logical_and(stopped, ~finished)
        token = tf.where(tf.logical_or(finished, stopped), 0, token)
        new_end = tf.where(stopped, position, new_end)
        finished = finished | stopped | (position + 1 >= end_index)
        return position + 1, start, write(buffer, position, token), cache, finished, new_end

    def cond(position, start, buffer, cache, finished, new_end):
        return tf.logical_and(position < total, ~tf.reduce_all(finished))

    finished = prompt_lengths >= end_index  # max_new_tokens == 0
    state = (first_position, tf.constant(0), buffer, cache, finished, end_index)
    _, _, buffer, _, _, new_end = tf.while_loop(cond, body, state)
    new_lengths = new_end - prompt_lengths
    # Gather each row's new tokens: positions prompt_length .. prompt_length + max_new - 1.
    columns = prompt_lengths[:, tf.newaxis] + tf.range(max_new_tokens)[tf.newaxis, :]
    new_ids = tf.gather(buffer, columns, axis=1, batch_dims=1)
    valid = tf.range(max_new_tokens)[tf.newaxis, :] < new_lengths[:, tf.newaxis]
    return tf.where(valid, new_ids, 0), new_lengths


def _default_cache_length(max_length, static_prompt_len, max_new_tokens, dynamic_prompt_len):
    """``min(max_length, prompt_len + max_new_tokens)``: a Python int when both are static."""
    if static_prompt_len is not None and isinstance(max_new_tokens, int):
        return min(max_length, static_prompt_len + max_new_tokens)
    return tf.minimum(max_length, dynamic_prompt_len + tf.cast(max_new_tokens, tf.int32))
