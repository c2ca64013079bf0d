"""Text in, text out: tokenize prompts, run the decoding loop, detokenize completions."""

import random
import weakref

import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.generation.decode_loop import decode
from keras_llm.generation.gpt_cache import CachedGPT
from keras_llm.tokenizers.base import fill_empty_rows

STRATEGIES = ("greedy", "sample")


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
        >>> generator.complete(tf.constant(["ROMEO:"]), max_new_tokens=20)
    """

    def __init__(self, model, tokenizer, start_token_id=None, name=None):
        super().__init__(name=name)
        self.model = model
        self.tokenizer = tokenizer
        self.stepper = CachedGPT(model)
        self.start_token_id = default_start_token_id(tokenizer) if start_token_id is None else int(start_token_id)
        self._compiled = {}

    def prepare_prompts(self, prompts, bucket=None):
        """strings ``(batch,)`` → right-padded ids ``(batch, prompt_len)`` and lengths ``(batch,)``.

        Eagerly, ``prompt_len`` is the longest prompt rounded up to a multiple of ``bucket`` (so
        XLA compiles a few shapes, not one per length), capped at the context; in a graph it
        is the longest prompt; with ``bucket=None`` eagerly, the full context.
        """
        window = self.stepper.max_length
        ids = fill_empty_rows(_keep_last(self.tokenizer.tokenize(prompts), window), self.start_token_id)
        width = window
        if tf.executing_eagerly() and bucket:
            longest = int(tf.reduce_max(ids.row_lengths())) if ids.nrows() > 0 else 1
            width = min(window, -(-longest // bucket) * bucket)
        elif not tf.executing_eagerly():
            width = None
        dense = ids.to_tensor(default_value=0, shape=[None, width])
        return tf.cast(dense, tf.int32), tf.cast(ids.row_lengths(), tf.int32)

    def decode_ids(self, prompt_ids, prompt_lengths, max_new_tokens, temperature=0.0, top_k=0, top_p=1.0,
                   seed=(0, 0), stop_ids=None, use_cache=True, jit_compile=False):
        """Run the decoding loop; ``jit_compile=True`` needs a Python int ``max_new_tokens``."""
        if not jit_compile:
            return decode(self.stepper, prompt_ids, prompt_lengths, max_new_tokens, temperature, top_k,
                          top_p, seed, stop_ids, use_cache)
        # Greedy decoding known in Python compiles a loop without the sampler (an argmax only).
        greedy = isinstance(temperature, (int, float)) and temperature <= 0
        key = (int(max_new_tokens), bool(use_cache), greedy)
        if key not in self._compiled:
            def run(prompt_ids, prompt_lengths, temperature, top_k, top_p, seed, stop_ids):
                return decode(self.stepper, prompt_ids, prompt_lengths, key[0], None if key[2] else temperature,
                              top_k, top_p, seed, stop_ids, key[1])
            # Static shapes on purpose: XLA needs the prompt width to size the cache at trace time;
            # prompts are bucketed, so only a few shapes are ever traced.
            self._compiled[key] = tf.function(run, jit_compile=True)
        stop_ids = tf.zeros((0,), tf.int32) if stop_ids is None else stop_ids
        return self._compiled[key](prompt_ids, prompt_lengths, tf.cast(temperature, tf.float32),
                                   tf.cast(top_k, tf.int32), tf.cast(top_p, tf.float32),
                                   tf.cast(seed, tf.int32), tf.cast(stop_ids, tf.int32))

    def complete(self, prompts, max_new_tokens=100, temperature=0.0, top_k=0, top_p=1.0, seed=(0, 0),
                 stop_ids=None, use_cache=True, jit_compile=False):
        """strings ``(batch,)`` → completion strings ``(batch,)``."""
        prompt_ids, lengths = self.prepare_prompts(prompts, bucket=32)
        new_ids, new_lengths = self.decode_ids(prompt_ids, lengths, max_new_tokens, temperature, top_k, top_p,
                                               seed, stop_ids, use_cache, jit_compile)
        return self.tokenizer.detokenize(tf.RaggedTensor.from_tensor(new_ids, lengths=new_lengths))


def _keep_last(ids, count):
    """Each row's last ``count`` items."""
    lengths = ids.row_lengths()
    drop = tf.maximum(lengths - count, 0)
    keep = tf.ragged.range(drop, lengths)
    return tf.gather(ids, keep, batch_dims=1)


# One Generator (and its compiled XLA loops) per model, kept outside the model so that
# Keras never tracks or saves it, and dropped with the model.
_GENERATORS = weakref.WeakKeyDictionary()


def generator_for(model, tokenizer):
    """The cached :class:`Generator` of ``model`` and ``tokenizer`` (made on first use)."""
    generator = _GENERATORS.get(model)
    if generator is None or generator.tokenizer is not tokenizer:
        generator = Generator(model, tokenizer)
        _GENERATORS[model] = generator
    return generator


def _resolve_stop_ids(tokenizer, stop_tokens):
    ids = []
    for token in stop_tokens or ():
        if isinstance(token, str):
            encoded = tokenizer.encode(token)
            if len(encoded) != 1:
                raise UserInputError(f"stop token {token!r} is not a single token of this tokenizer")
            token = encoded[0]
        ids.append(int(token))
    return tf.constant(ids, tf.int32, shape=[len(ids)])


def generate(model, tokenizer, prompts, max_new_tokens=100, strategy="greedy", temperature=1.0, top_k=0,
             top_p=1.0, seed=None, stop_tokens=None, use_cache=True, jit_compile=True):
    """Continue each prompt with up to ``max_new_tokens`` tokens.

    Args:
        model: a GPT from :func:`keras_llm.models.build_gpt` (or loaded from ``.keras``).
        tokenizer: the tokenizer the model was trained with.
        prompts: a string or a list of strings.
        max_new_tokens: tokens to add (0 gives empty completions).
        strategy: ``"greedy"`` (argmax) or ``"sample"``.
        temperature, top_k, top_p: sampling controls (``"sample"`` only); 0 / 1.0 disable k / p.
        seed: int; the same seed gives the same text. Random if None.
        stop_tokens: tokens (strings or ids) that end a completion; not included in it.
        use_cache: key/value cache (default) or full re-computation (for checking).
        jit_compile: compile the decoding loop with XLA.

    Returns:
        The completion (new text only): a string, or a list of strings for a list of prompts.

    Example:
        >>> generate(model, tokenizer, "ROMEO:", max_new_tokens=50, strategy="sample", top_k=10, seed=1)
    """
    single = isinstance(prompts, str)
    prompts = [prompts] if single else list(prompts)
    if strategy not in STRATEGIES:
        raise UserInputError(f"strategy must be one of {STRATEGIES}; got {strategy!r}")
    if int(max_new_tokens) < 0 or int(top_k) < 0 or not 0.0 < float(top_p) <= 1.0:
        raise UserInputError("need max_new_tokens >= 0, top_k >= 0 and 0 < top_p <= 1")
    if strategy == "sample" and float(temperature) <= 0.0:
        raise UserInputError(f"sampling needs temperature > 0; got {temperature} (use strategy='greedy')")
    if not prompts or int(max_new_tokens) == 0:
        return "" if single else [""] * len(prompts)
    generator = generator_for(model, tokenizer)
    seed = random.randrange(2**31) if seed is None else int(seed)
    texts = generator.complete(
        tf.constant(prompts), int(max_new_tokens), float(temperature) if strategy == "sample" else 0.0,
        int(top_k), float(top_p), (seed, 0), _resolve_stop_ids(tokenizer, stop_tokens), use_cache, jit_compile)
    texts = [t.decode("utf-8", errors="replace") for t in texts.numpy()]
    return texts[0] if single else texts
