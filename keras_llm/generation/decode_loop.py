"""The decoding loop: a ``tf.while_loop`` of fixed shapes (one per window when it can slide), XLA-compilable,
cached or not.

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


def decode(stepper, prompt_ids, prompt_lengths, options, stop_ids=None, use_cache=True, cache_length=None,
           new_token_limit=None, greedy=None, fits_window=None):
    """Generate up to ``options.max_new_tokens`` tokens after each prompt.

    Args:
        stepper: a :class:`~keras_llm.generation.gpt_cache.CachedGPT`.
        prompt_ids: int32 ``(batch, prompt_len)``, right-padded; every row has ≥ 1 token.
        prompt_lengths: int32 ``(batch,)``, each in ``[1, max_length]``.
        options: a :class:`~keras_llm.generation.options.DecodingOptions`: ``max_new_tokens`` (int,
            or a scalar tensor outside XLA), the strategy and, for ``"sample"``, ``temperature``,
            ``top_k``, ``top_p`` and ``seed`` (``None`` is 0) as in :func:`select_next_token`.
            Greedy decoding compiles a loop with an argmax only, no sampler.
        stop_ids: int32 ``(num_stop,)``; a row ends at its first stop token (not emitted).
        use_cache: use the key/value cache (fast) or re-run the window (reference).
        cache_length: slots of the cache / width of the window. Defaults to
            ``min(max_length, prompt_len + max_new_tokens)``: a request that fits the context
            never slides, so a smaller cache gives the same tokens and much cheaper steps
            (a step's cost is dominated by moving the cache). Must be a Python int under XLA.
        new_token_limit: int32 scalar ≤ ``max_new_tokens`` or ``None``: stop after this many new
            tokens while shapes stay sized by ``max_new_tokens``, so a loop compiled for a bucket of
            64 serves a request for 40 (exports; the columns past the limit are 0).
        greedy: bool scalar tensor or ``None``: when given (with ``strategy="sample"``), each step
            takes the argmax where it is true, so one loop serves greedy and sampled requests;
            the branch only touches the logits, never the cache.
        fits_window: ``None`` (decide from static shapes), or the caller's promise for shapes known
            only when the graph runs (a loop traced once for many buckets): ``True``, prompt width +
            ``max_new_tokens`` ≤ ``max_length`` (the window is exactly that and never slides);
            ``False``, the window is ``max_length``. Either way the prompt block is encoded in one
            pass, so the prompt width must be ≥ 2. Under XLA the shapes are then constants of
            each compilation, as with static ones.

    Returns:
        ``(new_ids, new_lengths)``: int32 ``(batch, max_new_tokens)`` padded with 0, and
        int32 ``(batch,)`` counts of generated tokens.

    Example:
        >>> decode(CachedGPT(model), [[5, 6, 0]], [2], DecodingOptions(max_new_tokens=8))
    """
    loop = _DecodingLoop(stepper, prompt_ids, prompt_lengths, options, stop_ids, use_cache, cache_length,
                         fits_window)
    return loop.run(new_token_limit, greedy)


class _DecodingLoop:
    """The state and steps of one :func:`decode` call (one method per piece of the loop)."""

    def __init__(self, stepper, prompt_ids, prompt_lengths, options, stop_ids, use_cache, cache_length,
                 fits_window=None):
        self.stepper, self.options, self.use_cache = stepper, options, use_cache
        self.prompt_ids = tf.cast(prompt_ids, tf.int32)
        self.prompt_lengths = tf.cast(prompt_lengths, tf.int32)
        self.max_new_tokens = options.max_new_tokens
        self.fits_window = fits_window
        if cache_length is None and fits_window is not None:
            cache_length = (tf.shape(self.prompt_ids)[1] + tf.cast(self.max_new_tokens, tf.int32) if fits_window
                            else stepper.max_length)
        if cache_length is None:
            cache_length = _default_cache_length(stepper.max_length, self.prompt_ids.shape[1], self.max_new_tokens,
                                                 tf.shape(self.prompt_ids)[1])
        self.window = window = cache_length
        self.keep = max(window // 2, 1) if isinstance(window, int) else tf.maximum(window // 2, 1)
        self.stop_ids = tf.zeros((0,), tf.int32) if stop_ids is None else tf.cast(stop_ids, tf.int32)
        self.seed = tf.stack([tf.cast(0 if options.seed is None else options.seed, tf.int32), 0])
        width = self.prompt_ids.shape[1]
        # A request that fits its window never slides; leaving the test out then also spares XLA a copy
        # of the whole cache per step (a conditional returns fresh buffers, even from the idle branch).
        self.never_full = bool(fits_window) or (isinstance(window, int) and isinstance(self.max_new_tokens, int)
                                                and width is not None and width + self.max_new_tokens <= window)

    def start(self):
        """The cache and the first position to decode, after encoding the prompt block where it can."""
        batch = tf.shape(self.prompt_ids)[0]
        cache = self.stepper.empty_cache(batch, self.window) if self.use_cache else tf.zeros((0,), tf.float32)
        width, window = self.prompt_ids.shape[1], self.window
        static_prefill = isinstance(window, int) and width is not None and 1 < width <= window + 1
        if self.use_cache and (static_prefill or self.fits_window is not None):
            # Encode the padded prompt block but its last column in one pass instead of one step per
            # token. Entries past a shorter row's prompt hold padding; the loop, which starts at the
            # shortest prompt, rewrites each of them before any query can attend to it (causal mask).
            _, cache = self.stepper(self.prompt_ids[:, :-1], cache, 0)
            return cache, tf.maximum(tf.reduce_min(self.prompt_lengths), 1)
        return cache, tf.constant(1)

    def slide(self, buffer, start, cache):
        """Start a new window at ``start``: re-encode its first ``keep`` tokens."""
        if not self.use_cache:
            return start, cache
        recent = tf.slice(buffer, [0, start], [-1, self.keep])
        _, fresh = self.stepper(recent, tf.nest.map_structure(tf.zeros_like, cache), 0)
        return start, fresh

    def next_logits(self, buffer, start, cache, position):
        slot = position - 1 - start
        if self.use_cache:
            token = tf.slice(buffer, [0, position - 1], [-1, 1])
            logits, cache = self.stepper(token, cache, slot)
            return logits[:, -1], cache
        view = tf.slice(buffer, [0, start], [-1, self.window])
        logits = self.stepper.full_logits(view)
        return tf.gather(logits, slot, axis=1), cache

    def body(self, position, start, buffer, cache, finished, new_end):
        logits, cache = self.next_logits(buffer, start, cache, position)
        sampled = self.select(logits, self.seed + tf.stack([0, position]))
        in_prompt = position < self.prompt_lengths
        token = tf.where(in_prompt, buffer[:, position], sampled)
        is_stop = tf.reduce_any(token[:, tf.newaxis] == self.stop_ids[tf.newaxis], -1)
        stopped = tf.logical_and(tf.logical_and(~in_prompt, is_stop), ~finished)
        token = tf.where(tf.logical_or(finished, stopped), 0, token)
        new_end = tf.where(stopped, position, new_end)
        finished = finished | stopped | (position + 1 >= self.end_index)
        return position + 1, start, _write(buffer, position, token), cache, finished, new_end

    def window_body(self, cond):
        """One window per iteration: decode until the window is full (or every row is done), then slide.

        The slide is not a ``tf.cond`` inside the per-token loop on purpose: a model call in a branch
        made XLA compile the whole loop again after every change of any weight's value (the first
        sample after each training interval took ~1.7 s instead of 0.06 s on a 0.8M-parameter GPT).
        A slide after the last window re-encodes tokens nobody reads; it costs one pass over ``keep``.
        """
        def not_full(position, start, *rest):
            return tf.logical_and(cond(position, start, *rest), position - 1 - start < self.window)

        def body(*state):
            position, start, buffer, cache, finished, new_end = tf.while_loop(not_full, self.body, state)
            start, cache = self.slide(buffer, tf.maximum(position - 1 - self.keep, 0), cache)
            return position, start, buffer, cache, finished, new_end

        return body

    def select(self, logits, seed):
        if self.greedy is None:
            return select_next_token(logits, self.options, seed)
        return tf.cond(self.greedy, lambda: tf.argmax(logits, axis=-1, output_type=tf.int32),
                       lambda: select_next_token(logits, self.options, seed))

    def run(self, new_token_limit=None, greedy=None):
        new = self.max_new_tokens
        self.greedy = greedy
        total = tf.shape(self.prompt_ids)[1] + new
        # Extra room after the end so a fixed-size window slice never runs off the buffer.
        buffer = tf.pad(self.prompt_ids, [[0, 0], [0, new + self.window]])
        limit = new if new_token_limit is None else tf.minimum(tf.cast(new_token_limit, tf.int32), new)
        self.end_index = self.prompt_lengths + limit  # one past each row's last new token
        cache, first_position = self.start()
        finished = self.prompt_lengths >= self.end_index  # max_new_tokens == 0
        state = (first_position, tf.constant(0), buffer, cache, finished, self.end_index)

        def cond(position, start, buffer, cache, finished, new_end):
            return tf.logical_and(position < total, ~tf.reduce_all(finished))

        if self.never_full:
            _, _, buffer, _, _, new_end = tf.while_loop(cond, self.body, state)
        else:
            _, _, buffer, _, _, new_end = tf.while_loop(cond, self.window_body(cond), state)
        new_lengths = new_end - self.prompt_lengths
        # Gather each row's new tokens: positions prompt_length .. prompt_length + max_new - 1.
        columns = self.prompt_lengths[:, tf.newaxis] + tf.range(new)[tf.newaxis, :]
        new_ids = tf.gather(buffer, columns, axis=1, batch_dims=1)
        valid = tf.range(new)[tf.newaxis, :] < new_lengths[:, tf.newaxis]
        return tf.where(valid, new_ids, 0), new_lengths


def _write(buffer, position, tokens):
    one_hot = tf.one_hot(position, tf.shape(buffer)[1], dtype=tf.int32)[tf.newaxis, :]
    return buffer * (1 - one_hot) + tokens[:, tf.newaxis] * one_hot


def _default_cache_length(max_length, static_prompt_len, max_new_tokens, dynamic_prompt_len):
    """``min(max_length, prompt_len + max_new_tokens)``: a Python int when both are static."""
    if static_prompt_len is not None and isinstance(max_new_tokens, int):
        return min(max_length, static_prompt_len + max_new_tokens)
    return tf.minimum(max_length, dynamic_prompt_len + tf.cast(max_new_tokens, tf.int32))
