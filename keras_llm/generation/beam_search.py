"""Beam search over a GPT with the key/value cache: the GPT step function of the one beam core.

The search itself (scoring with a length penalty, finished beams, early stopping) is
:func:`keras_llm.generation.beam_core.beam_search`; this module feeds it a GPT.

Prompts of different lengths: every row shares one absolute position, as in
:mod:`~keras_llm.generation.decode_loop`. The padded prompt block is encoded once; its
cache entries past a row's prompt hold padding, but the loop rewrites each position before
any query may attend to it (causal mask on absolute positions). A row starts beam search
when the position reaches its prompt length. The whole output must fit the model's
context (``prompt_length + max_new_tokens <= max_length``): beams do not slide the window.
"""

import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.generation.beam_core import beam_search, beam_sizes
from keras_llm.generation.compiled import compiled_function
from keras_llm.generation.generate import Generator
from keras_llm.generation.options import DecodingOptions, options_or, stop_token_ids

# beam_generate's options when none are given.
BEAM_DEFAULTS = DecodingOptions(max_new_tokens=50, num_beams=4)


def _check_fits(prompt_lengths, max_new_tokens, max_length):
    """Raise if a prompt plus its new tokens exceeds the context (when the lengths are known)."""
    lengths = tf.get_static_value(prompt_lengths)
    if lengths is None or lengths.size == 0:
        return  # symbolic inside tf.function: the caller checks (beam_generate does)
    longest = int(lengths.max())
    if longest + max_new_tokens > max_length:
        raise UserInputError(
            f"beam search needs prompt length + max_new_tokens <= {max_length} (the model's context); "
            f"got {longest} + {max_new_tokens}")


def gpt_step(stepper, prompt_ids, prompt_lengths, num_beams):
    """The GPT step function of the beam core: loop counter ``t`` is the absolute position.

    At ``t`` the token at position ``t - 1`` is fed to cache slot ``t - 1``: the row's own
    prompt token while ``t - 1`` is inside its prompt, else the token its beam chose.
    """
    last_column = tf.shape(prompt_ids)[1] - 1

    def step(t, tokens, cache):
        position = t - 1
        in_prompt = tf.repeat(position < prompt_lengths, num_beams)
        prompt_tokens = tf.repeat(tf.gather(prompt_ids, tf.minimum(position, last_column), axis=1), num_beams)
        fed = tf.where(in_prompt, prompt_tokens, tokens)
        logits, cache = stepper(fed[:, tf.newaxis], cache, position)
        return tf.nn.log_softmax(logits[:, -1]), cache

    return step


def beam_search_ids(stepper, prompt_ids, prompt_lengths, options, stop_ids=None):
    """The best of ``options.num_beams`` beams after each prompt, by length-normalized log-probability.

    Works eagerly and under ``tf.function(jit_compile=True)``; ``max_new_tokens`` and
    ``num_beams`` must be Python ints (they fix tensor shapes).

    Args:
        stepper: a :class:`~keras_llm.generation.gpt_cache.CachedGPT`.
        prompt_ids: int32 ``(batch, prompt_len)``, right-padded; every row has ≥ 1 token.
        prompt_lengths: int32 ``(batch,)``; each length plus ``max_new_tokens`` must be
            ``<= stepper.max_length`` (checked when the lengths are concrete values).
        options: :class:`~keras_llm.generation.options.DecodingOptions`: ``max_new_tokens``,
            ``num_beams`` (1 is greedy decoding), ``length_penalty`` (see
            :mod:`~keras_llm.generation.beam_core`) and integer ``stop_tokens``.
        stop_ids: int32 ``(num_stop,)`` overriding ``options.stop_tokens`` (a tensor, e.g. in a
            compiled function); a hypothesis ends at a stop token (scored, not emitted).

    Returns:
        ``(best_ids, best_lengths, best_scores)``: int32 ``(batch, max_new_tokens)`` padded
        with 0, int32 ``(batch,)`` counts of emitted tokens, and float32 ``(batch,)`` ranking
        scores ``score / L ** length_penalty``.

    Example:
        >>> stepper = CachedGPT(model)
        >>> options = DecodingOptions(max_new_tokens=8, num_beams=4)
        >>> ids, lengths, scores = beam_search_ids(stepper, [[5, 6, 7, 0]], [3], options)
    """
    num_beams, new = beam_sizes(options)
    prompt_lengths = tf.cast(prompt_lengths, tf.int32)
    _check_fits(prompt_lengths, new, stepper.max_length)
    prompt_ids = tf.cast(prompt_ids, tf.int32)[:, :stepper.max_length]
    batch = tf.shape(prompt_ids)[0]
    if new == 0:
        return tf.zeros((batch, 0), tf.int32), tf.zeros((batch,), tf.int32), tf.zeros((batch,), tf.float32)
    stop_ids = stop_token_ids(options) if stop_ids is None else stop_ids
    # Encode the prompt block once on `batch` rows, then give each beam its own copy.
    _, cache = stepper(prompt_ids, stepper.empty_cache(batch), 0)
    cache = tf.nest.map_structure(lambda t: tf.repeat(t, num_beams, axis=0), cache)
    unused = tf.zeros((batch * num_beams,), tf.int32)  # every row starts inside its prompt (gpt_step feeds it)
    return beam_search(gpt_step(stepper, prompt_ids, prompt_lengths, num_beams), cache, unused, prompt_lengths,
                       options, stop_ids, stepper.vocab_size)


def _compile_beam(stepper, static):
    """An XLA-compiled :func:`beam_search_ids` for ``static = (max_new_tokens, num_beams)``."""
    new, num_beams = static

    def run(prompt_ids, lengths, penalty, stop_ids):
        options = DecodingOptions(max_new_tokens=new, num_beams=num_beams, length_penalty=penalty)
        return beam_search_ids(stepper, prompt_ids, lengths, options, stop_ids)

    return tf.function(run, jit_compile=True, reduce_retracing=True)


def beam_generate(model, tokenizer, prompts, options=None, jit_compile=True):
    """Continue each prompt with its best beam-search completion.

    Args:
        model: a GPT from :func:`keras_llm.models.build_gpt` (or loaded from ``.keras``).
        tokenizer: the tokenizer the model was trained with.
        prompts: a string or a list of strings.
        options: :class:`~keras_llm.generation.options.DecodingOptions` (default ``BEAM_DEFAULTS``:
            50 new tokens, 4 beams): ``max_new_tokens`` (prompt tokens plus these must fit the
            context), ``num_beams`` (1 is greedy decoding), ``length_penalty`` (ranks finished
            hypotheses by ``sum log p / L ** length_penalty``), ``stop_tokens``.
        jit_compile: compile the search loop with XLA.

    Returns:
        The completion (new text only): a string, or a list of strings for a list of prompts.

    Example:
        >>> beam_generate(model, tokenizer, "ROMEO:", DecodingOptions(max_new_tokens=8, num_beams=4))
    """
    options = options_or(options, BEAM_DEFAULTS)
    single = isinstance(prompts, str)
    prompts = [prompts] if single else list(prompts)
    num_beams, new = beam_sizes(options)
    if not prompts or new == 0:
        return "" if single else [""] * len(prompts)
    generator = Generator(model, tokenizer)
    stop_ids = stop_token_ids(options, tokenizer)
    prompt_ids, lengths = generator.prepare_prompts(tf.constant(prompts))
    _check_fits(lengths, new, generator.stepper.max_length)
    if jit_compile:
        run = compiled_function(model, "gpt_beam", (new, num_beams),
                                lambda: _compile_beam(generator.stepper, (new, num_beams)))
        ids, new_lengths, _ = run(prompt_ids, lengths, tf.constant(float(options.length_penalty), tf.float32),
                                  stop_ids)
    else:
        ids, new_lengths, _ = beam_search_ids(generator.stepper, prompt_ids, lengths, options, stop_ids)
    texts = tokenizer.detokenize_continuation(tf.constant(prompts),
                                              tf.RaggedTensor.from_tensor(ids, lengths=new_lengths))
    texts = [t.decode("utf-8", errors="replace") for t in texts.numpy()]
    return texts[0] if single else texts
