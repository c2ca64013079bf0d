"""Text in, text out: tokenize prompts, run the decoding loop, detokenize completions."""

import random

import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.generation.compiled import compiled_function
from keras_llm.generation.decode_loop import decode
from keras_llm.generation.gpt_cache import CachedGPT
from keras_llm.generation.options import DecodingOptions, options_or, stop_token_ids
from keras_llm.tokenizers.base import fill_empty_rows


def default_start_token_id(tokenizer):
    """The id an empty prompt starts from: end-of-text if the tokenizer has one, else newline."""
    if getattr(tokenizer, "end_token_id", None) is not None:
        return int(tokenizer.end_token_id)
    ids = tokenizer.encode("\n")
    return int(ids[0]) if len(ids) == 1 else 0


class Generator(tf.Module):
    """A GPT and its tokenizer, with graph functions from strings to completions.

    Prompts longer than the context keep their last ``max_length`` tokens; an empty
    prompt (or one with no known characters) starts from ``start_token_id``.
    Completions hold the new text only.

    Example:
        >>> generator = Generator(model, tokenizer)
        >>> generator.complete(tf.constant(["ROMEO:"]), DecodingOptions(max_new_tokens=20))
    """

    def __init__(self, model, tokenizer, start_token_id=None, name=None):
        super().__init__(name=name)
        self.model = model
        self.tokenizer = tokenizer
        self.stepper = CachedGPT(model)
        self.start_token_id = default_start_token_id(tokenizer) if start_token_id is None else int(start_token_id)

    def prompt_rows(self, prompts):
        """strings ``(batch,)`` → int ``RaggedTensor`` ``(batch, 1 .. max_length)``: each prompt's last
        ``max_length`` tokens, or ``[start_token_id]`` for a prompt without known tokens."""
        return fill_empty_rows(_keep_last(self.tokenizer.tokenize(prompts), self.stepper.max_length),
                               self.start_token_id)

    def prepare_prompts(self, prompts, bucket=None):
        """strings ``(batch,)`` → right-padded ids ``(batch, prompt_len)`` and lengths ``(batch,)``.

        Eagerly, ``prompt_len`` is the longest prompt rounded up to a multiple of ``bucket`` (so
        XLA compiles a few shapes, not one per length), capped at the context; in a graph it
        is the longest prompt; with ``bucket=None`` eagerly, the full context.
        """
        window = self.stepper.max_length
        ids = self.prompt_rows(prompts)
        width = window
        if tf.executing_eagerly() and bucket:
            longest = int(tf.reduce_max(ids.row_lengths())) if ids.nrows() > 0 else 1
            width = min(window, -(-longest // bucket) * bucket)
        elif not tf.executing_eagerly():
            width = None
        dense = ids.to_tensor(default_value=0, shape=[None, width])
        return tf.cast(dense, tf.int32), tf.cast(ids.row_lengths(), tf.int32)

    def decode_ids(self, prompt_ids, prompt_lengths, options, use_cache=True, jit_compile=False):
        """Run the decoding loop (:func:`~keras_llm.generation.decode_loop.decode`) on prompt ids.

        ``options`` is a :class:`DecodingOptions`; its numbers may be scalar tensors, except that
        ``jit_compile=True`` needs a Python int ``max_new_tokens`` (it fixes the loop's shapes).
        Returns ``(new_ids, new_lengths)``.
        """
        stop_ids = stop_token_ids(options, self.tokenizer)
        if not jit_compile:
            return decode(self.stepper, prompt_ids, prompt_lengths, options, stop_ids, use_cache)
        static = (int(options.max_new_tokens), options.strategy, bool(use_cache))
        run = compiled_function(self.model, "gpt_decode", static, lambda: _compile_decode(self.stepper, static))
        seed = 0 if options.seed is None else options.seed
        return run(prompt_ids, prompt_lengths, tf.cast(options.temperature, tf.float32),
                   tf.cast(options.top_k, tf.int32), tf.cast(options.top_p, tf.float32), tf.cast(seed, tf.int32),
                   stop_ids)

    def complete(self, prompts, options, use_cache=True, jit_compile=False):
        """strings ``(batch,)`` → completion strings ``(batch,)`` (see :meth:`decode_ids`)."""
        prompt_ids, lengths = self.prepare_prompts(prompts, bucket=32)
        new_ids, new_lengths = self.decode_ids(prompt_ids, lengths, options, use_cache, jit_compile)
        return self.tokenizer.detokenize_continuation(prompts,
                                                      tf.RaggedTensor.from_tensor(new_ids, lengths=new_lengths))


def _compile_decode(stepper, static):
    """An XLA-compiled decoding loop for ``static = (max_new_tokens, strategy, use_cache)``."""
    max_new_tokens, strategy, use_cache = static

    def run(prompt_ids, prompt_lengths, temperature, top_k, top_p, seed, stop_ids):
        options = DecodingOptions(strategy=strategy, max_new_tokens=max_new_tokens, temperature=temperature,
                                  top_k=top_k, top_p=top_p, seed=seed)
        return decode(stepper, prompt_ids, prompt_lengths, options, stop_ids, use_cache)

    # Static shapes on purpose: XLA needs the prompt width to size the cache at trace time;
    # prompts are bucketed, so only a few shapes are ever traced.
    return tf.function(run, jit_compile=True)


def _keep_last(ids, count):
    """Each row's last ``count`` items."""
    lengths = ids.row_lengths()
    drop = tf.maximum(lengths - count, 0)
    keep = tf.ragged.range(drop, lengths)
    return tf.gather(ids, keep, batch_dims=1)


def generate(model, tokenizer, prompts, options=None, use_cache=True, jit_compile=True):
    """Continue each prompt with up to ``options.max_new_tokens`` tokens (one beam; see ``beam_generate``).

    Args:
        model: a GPT from :func:`keras_llm.models.build_gpt` (or loaded from ``.keras``).
        tokenizer: the tokenizer the model was trained with.
        prompts: a string or a list of strings.
        options: :class:`DecodingOptions` (default: greedy, 100 new tokens). ``strategy``,
            ``temperature``, ``top_k``, ``top_p``, ``seed`` (``None``: random) and
            ``stop_tokens`` are used; ``num_beams`` must be 1.
        use_cache: key/value cache (default) or full re-computation (for checking).
        jit_compile: compile the decoding loop with XLA.

    Returns:
        The completion (new text only): a string, or a list of strings for a list of prompts.

    Example:
        >>> generate(model, tokenizer, "ROMEO:", DecodingOptions(strategy="sample", max_new_tokens=50, top_k=10,
        ...                                                      seed=1))
    """
    options = options_or(options, DecodingOptions())
    if options.max_new_tokens is None:
        raise UserInputError("generate needs max_new_tokens (an int >= 0)")
    if options.num_beams != 1:
        raise UserInputError(f"generate decodes one beam; use beam_generate for num_beams={options.num_beams}")
    single = isinstance(prompts, str)
    prompts = [prompts] if single else list(prompts)
    if not prompts or options.max_new_tokens == 0:
        return "" if single else [""] * len(prompts)
    if options.seed is None:
        options = options.replace(seed=random.randrange(2**31))
    texts = Generator(model, tokenizer).complete(tf.constant(prompts), options, use_cache, jit_compile)
    texts = [t.decode("utf-8", errors="replace") for t in texts.numpy()]
    return texts[0] if single else texts
