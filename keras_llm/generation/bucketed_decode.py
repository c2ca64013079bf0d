"""GPT decoding for exports: one fixed-shape loop per (prompt width, new tokens) bucket.

A served request comes with a prompt of any length and a ``max_new_tokens`` known only when it
arrives. Rather than one loop whose window, cache size and end are tensors (then every step tests
whether the window is full, the prompt is fed one token per step, and XLA cannot compile it),
the request is rounded up to a bucket (:mod:`keras_llm.generation.buckets`), and a loop traced
for that bucket's static shapes runs it; ``new_token_limit`` stops it at the requested count. The
same buckets serve the portable graph (op by op, any TF Serving) and the XLA-compiled one
(``jit_compile=True``: needs ``--xla_cpu_compilation_enabled`` in TF Serving).
"""

import tensorflow as tf

from keras_llm.generation.buckets import bucket_index, power_of_two_buckets
from keras_llm.generation.decode_loop import decode
from keras_llm.generation.options import DecodingOptions

# Buckets start here: shorter prompts and counts are padded to it (a loop of 16 costs what one of 8 does).
SMALLEST_BUCKET = 16


class BucketedDecoder:
    """Right-padded prompt ids → new ids, through a loop run at the request's bucket shapes.

    Two loops are traced, both with shapes unknown at trace time: one for requests whose padded
    prompt and new tokens fit the context (no window test in the loop body) and one that slides
    the window. The bucket fixes the shapes they run at: under XLA each (bucket, batch size) is
    one compilation, made on first use; op by op, the loop body has no per-step shape work.

    Args:
        stepper: a :class:`~keras_llm.generation.gpt_cache.CachedGPT` (context ``max_length`` ≥ 2).
        max_new_tokens_cap: the largest ``max_new_tokens`` a request may ask for (the last bucket).
        jit_compile: XLA-compile the loops.

    Call arguments:
        prompt_ids: int ``RaggedTensor`` ``(batch, None)``; every row 1 .. ``max_length`` tokens.
        max_new_tokens: int32 scalar in ``[0, max_new_tokens_cap]``.
        greedy: bool scalar: argmax instead of sampling.
        temperature, top_k, seed: float32 / int32 / int32 scalars for sampling (see
            :func:`~keras_llm.generation.samplers.select_next_token`).

    Returns:
        ``(new_ids, new_lengths)``: int32 ``(batch, max_new_tokens)`` padded with 0, int32 ``(batch,)``.

    Example:
        >>> decoder = BucketedDecoder(CachedGPT(model), 1024, jit_compile=True)
        >>> decoder(tf.ragged.constant([[5, 6], [7]]), 40, True, 1.0, 0, 0)
    """

    def __init__(self, stepper, max_new_tokens_cap, jit_compile):
        self.stepper, self.jit_compile = stepper, bool(jit_compile)
        self.context = context = stepper.max_length
        self.prompt_buckets = power_of_two_buckets(min(SMALLEST_BUCKET, context), context)
        cap = max(int(max_new_tokens_cap), 1)
        self.new_token_buckets = power_of_two_buckets(min(SMALLEST_BUCKET, cap), cap)
        self.fitting_loop = self._make_loop(fits_window=True)
        self.sliding_loop = self._make_loop(fits_window=False)

    def _make_loop(self, fits_window):
        stepper = self.stepper

        def run(prompt_ids, prompt_lengths, slots, limit, greedy, temperature, top_k, seed):
            # ``slots`` carries the bucket's new-token count in its shape: a shape is what XLA
            # compiles for, a tensor's value would not be a constant.
            options = DecodingOptions(strategy="sample", max_new_tokens=tf.shape(slots)[0], temperature=temperature,
                                      top_k=top_k, seed=seed)
            return decode(stepper, prompt_ids, prompt_lengths, options, new_token_limit=limit, greedy=greedy,
                          fits_window=fits_window)

        signature = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32),
                     tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.bool),
                     tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)]
        return tf.function(run, input_signature=signature, jit_compile=self.jit_compile)

    def __call__(self, prompt_ids, max_new_tokens, greedy, temperature, top_k, seed):
        lengths = tf.cast(prompt_ids.row_lengths(), tf.int32)
        longest = tf.reduce_max(tf.concat([lengths, [1]], axis=0))  # a batch of 0 takes the first bucket
        limit = tf.cast(max_new_tokens, tf.int32)
        width = tf.gather(self.prompt_buckets, bucket_index(longest, self.prompt_buckets))
        new = tf.gather(self.new_token_buckets, bucket_index(limit, self.new_token_buckets))
        dense = tf.cast(prompt_ids.to_tensor(0), tf.int32)
        dense = tf.pad(dense, [[0, 0], [0, width - tf.shape(dense)[1]]])
        arguments = (dense, lengths, tf.zeros([new], tf.int32), limit, tf.cast(greedy, tf.bool),
                     tf.cast(temperature, tf.float32), tf.cast(top_k, tf.int32), tf.cast(seed, tf.int32))
        new_ids, new_lengths = tf.cond(width + new <= self.context, lambda: self.fitting_loop(*arguments),
                                       lambda: self.sliding_loop(*arguments))
        return new_ids[:, :limit], new_lengths
