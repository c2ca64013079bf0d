"""Beam search over a GPT with the key/value cache: one ``tf.while_loop`` of fixed shapes.

Each prompt keeps ``num_beams`` live hypotheses ("alive") and the ``num_beams`` best
completed ones ("finished"). Every step scores all ``num_beams * vocab`` one-token
extensions of the alive beams. Those that end (a stop token, or the ``max_new_tokens``-th
token) are offered to the finished set, which keeps its best ``num_beams``; the best
``num_beams`` of the others become the new alive beams. The cache holds one row per beam
and is reordered with ``tf.gather`` whenever beams are re-chosen. A row stops early only
when no alive beam can still enter its finished set, so stopping never changes the result
(up to exact score ties).

Scoring:
    ``score`` is the sum of the log-probabilities of the hypothesis's scored tokens,
    a stop token included. Finished hypotheses are ranked by
    ``score / L ** length_penalty``, where ``L`` is the number of scored tokens (the
    generated tokens, plus one for the stop token if the hypothesis ended with one).
    ``length_penalty=0`` ranks by the raw sum (favours short outputs), ``1`` by the
    mean log-probability per token. (GNMT's ``((5 + L) / 6) ** alpha`` is not used.)

Prompts of different lengths: every row shares one absolute position, as in
:mod:`~keras_llm.generation.decode_loop`. The padded prompt block is encoded once; its
cache entries past a row's prompt hold padding, but the loop rewrites each position before
any query may attend to it (causal mask on absolute positions). A row starts beam search
when the position reaches its prompt length. The whole output must fit the model's
context (``prompt_length + max_new_tokens <= max_length``): beams do not slide the window.
"""

import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.generation.generate import _resolve_stop_ids, generator_for

_NEG_INF = float("-inf")


def _check_arguments(max_new_tokens, num_beams):
    if int(num_beams) < 1 or int(max_new_tokens) < 0:
        raise UserInputError(f"need num_beams >= 1 and max_new_tokens >= 0; got {num_beams} and {max_new_tokens}")


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


def beam_search_ids(stepper, prompt_ids, prompt_lengths, max_new_tokens, num_beams=4, length_penalty=1.0,
                    stop_ids=None):
    """The best of ``num_beams`` beams after each prompt, by length-normalized log-probability.

    Works eagerly and under ``tf.function(jit_compile=True)``; ``max_new_tokens`` and
    ``num_beams`` must be Python ints (they fix tensor shapes).

    Args:
        stepper: a :class:`~keras_llm.generation.gpt_cache.CachedGPT`.
        prompt_ids: int32 ``(batch, prompt_len)``, right-padded; every row has ≥ 1 token.
        prompt_lengths: int32 ``(batch,)``; each length plus ``max_new_tokens`` must be
            ``<= stepper.max_length`` (checked when the lengths are concrete values).
        max_new_tokens: int, tokens to generate at most.
        num_beams: int ≥ 1; 1 is greedy decoding.
        length_penalty: float exponent ``alpha``; hypotheses rank by ``score / L ** alpha``
            (see the module docstring for ``L``).
        stop_ids: int32 ``(num_stop,)``; a hypothesis ends at a stop token (scored, not emitted).

    Returns:
        ``(best_ids, best_lengths, best_scores)``: int32 ``(batch, max_new_tokens)`` padded
        with 0, int32 ``(batch,)`` counts of emitted tokens, and float32 ``(batch,)`` ranking
        scores ``score / L ** length_penalty``.

    Example:
        >>> stepper = CachedGPT(model)
        >>> ids, lengths, scores = beam_search_ids(stepper, [[5, 6, 7, 0]], [3], 8, num_beams=4)
    """
    _check_arguments(max_new_tokens, num_beams)
    num_beams, new = int(num_beams), int(max_new_tokens)
    window, vocab = stepper.max_length, stepper.vocab_size
    prompt_lengths = tf.cast(prompt_lengths, tf.int32)
    _check_fits(prompt_lengths, new, window)
    prompt_ids = tf.cast(prompt_ids, tf.int32)[:, :window]
    batch = tf.shape(prompt_ids)[0]
    if new == 0:
        return tf.zeros((batch, 0), tf.int32), tf.zeros((batch,), tf.int32), tf.zeros((batch,), tf.float32)
    stop_ids = tf.zeros((0,), tf.int32) if stop_ids is None else tf.cast(stop_ids, tf.int32)
    alpha = tf.cast(length_penalty, tf.float32)
    # Whether each (beam, token) extension is a stop token, in the flat beam * vocab + token order.
    stop_mask = tf.tile(tf.reduce_any(tf.range(vocab)[:, tf.newaxis] == stop_ids[tf.newaxis, :], axis=1),
                        [num_beams])
    last_column = tf.shape(prompt_ids)[1] - 1

    def write_at(step, tokens):
        """``(batch, beams, new)`` zeros with ``tokens`` at index ``step`` of each row (none if out of range)."""
        return tf.one_hot(step, new, dtype=tf.int32)[:, tf.newaxis, :] * tokens[..., tf.newaxis]

    def prompt_token(position):
        """Each row's prompt token at ``position`` (clamped; used only inside the prompt), per beam."""
        column = tf.gather(prompt_ids, tf.minimum(position, last_column), axis=1)
        return tf.repeat(column, num_beams)

    # Encode the prompt block once on `batch` rows, then give each beam its own copy.
    _, cache = stepper(prompt_ids, stepper.empty_cache(batch), 0)
    cache = tf.nest.map_structure(lambda t: tf.repeat(t, num_beams, axis=0), cache)

    def body(position, last_token, cache, alive_scores, alive_ids, done_scores, done_ids, done_lengths,
             finished):
        logits, cache = stepper(last_token[:, tf.newaxis], cache, position - 1)
        log_probs = tf.reshape(tf.nn.log_softmax(logits[:, -1]), (batch, num_beams * vocab))
        step = position - prompt_lengths  # index of the token chosen now, per row
        active = (step >= 0) & ~finished

        candidates = tf.repeat(alive_scores, vocab, axis=1) + log_probs  # index = beam * vocab + token
        ends = stop_mask[tf.newaxis, :] | (step == new - 1)[:, tf.newaxis]

        # The best non-ending extensions go on; the best ending ones are offered to the finished set.
        next_alive, pick = tf.math.top_k(tf.where(ends, _NEG_INF, candidates), num_beams)
        next_parent, next_token = pick // vocab, pick % vocab
        next_alive_ids = tf.gather(alive_ids, next_parent, batch_dims=1) + write_at(step, next_token)

        ended, pick = tf.math.top_k(tf.where(ends, candidates, _NEG_INF), num_beams)
        token = pick % vocab
        is_stop = tf.gather(stop_mask, token)
        emitted = tf.where(is_stop, 0, token)  # stop tokens are scored, not emitted
        ended_ids = tf.gather(alive_ids, pick // vocab, batch_dims=1) + write_at(step, emitted)
        scored = tf.cast(tf.maximum(step + 1, 1), tf.float32)[:, tf.newaxis]  # L; max() guards inactive rows
        ranked = ended / scored**alpha
        lengths = tf.where(is_stop, step[:, tf.newaxis], step[:, tf.newaxis] + 1)

        next_done, merge = tf.math.top_k(tf.concat([done_scores, ranked], axis=1), num_beams)
        next_done_ids = tf.gather(tf.concat([done_ids, ended_ids], axis=1), merge, batch_dims=1)
        next_done_lengths = tf.gather(tf.concat([done_lengths, lengths], axis=1), merge, batch_dims=1)

        # Stop a row early only when no alive beam can still enter its finished set: later
        # scores only fall (log-probs <= 0), and L ranges over step + 2 .. new.
        later = tf.cast(step + 2, tf.float32)
        bound = next_alive[:, 0] / tf.maximum(later**alpha, tf.cast(new, tf.float32) ** alpha)
        row_done = (step + 1 >= new) | (bound <= next_done[:, -1])

        keep = active[:, tf.newaxis]
        alive_scores = tf.where(keep, next_alive, alive_scores)
        alive_ids = tf.where(keep[..., tf.newaxis], next_alive_ids, alive_ids)
        done_scores = tf.where(keep, next_done, done_scores)
        done_ids = tf.where(keep[..., tf.newaxis], next_done_ids, done_ids)
        done_lengths = tf.where(keep, next_done_lengths, done_lengths)
        parent = tf.where(keep, next_parent, tf.range(num_beams)[tf.newaxis, :])
        rows = tf.range(batch)[:, tf.newaxis] * num_beams + parent
        cache = tf.nest.map_structure(lambda t: tf.gather(t, tf.reshape(rows, [-1]), axis=0), cache)
        in_prompt = tf.repeat(position < prompt_lengths, num_beams)
        last_token = tf.where(in_prompt, prompt_token(position),
                              tf.where(tf.repeat(active, num_beams), tf.reshape(next_token, [-1]), last_token))
        finished = finished | (active & row_done)
        return (position + 1, last_token, cache, alive_scores, alive_ids, done_scores, done_ids, done_lengths,
                finished)

    end = tf.reduce_max(prompt_lengths) + new

    def cond(position, *state):
        return (position < end) & ~tf.reduce_all(state[-1])

    start = tf.reduce_min(prompt_lengths)
    # Only beam 0 is real at first; -inf keeps the identical copies from being expanded too.
    first_scores = tf.concat([tf.zeros((batch, 1)), tf.fill((batch, num_beams - 1), _NEG_INF)], axis=1)
    state = (start, prompt_token(start - 1), cache, first_scores, tf.zeros((batch, num_beams, new), tf.int32),
             tf.fill((batch, num_beams), _NEG_INF), tf.zeros((batch, num_beams, new), tf.int32),
             tf.zeros((batch, num_beams), tf.int32), tf.zeros((batch,), tf.bool))
    def body_keeping_shapes(*state):
        # Gathers by computed indices lose static sizes (e.g. the batch); the loop needs them fixed.
        return tf.nest.map_structure(lambda new, old: tf.ensure_shape(new, old.shape), body(*state), state)

    state = tf.while_loop(cond, body_keeping_shapes, state)
    done_scores, done_ids, done_lengths = state[5], state[6], state[7]
    return done_ids[:, 0], done_lengths[:, 0], done_scores[:, 0]


def beam_generate(model, tokenizer, prompts, max_new_tokens=50, num_beams=4, length_penalty=1.0, stop_tokens=None,
                  jit_compile=True):
    """Continue each prompt with its best beam-search completion.

    Args:
        model: a GPT from :func:`keras_llm.models.build_gpt` (or loaded from ``.keras``).
        tokenizer: the tokenizer the model was trained with.
        prompts: a string or a list of strings.
        max_new_tokens: tokens to add at most; prompt tokens plus these must fit the context.
        num_beams: beams per prompt (1 is greedy decoding).
        length_penalty: ranks finished hypotheses by ``sum log p / L ** length_penalty``.
        stop_tokens: tokens (strings or ids) that end a completion; not included in it.
        jit_compile: compile the search loop with XLA.

    Returns:
        The completion (new text only): a string, or a list of strings for a list of prompts.

    Example:
        >>> beam_generate(model, tokenizer, "ROMEO:", max_new_tokens=8, num_beams=4)
    """
    single = isinstance(prompts, str)
    prompts = [prompts] if single else list(prompts)
    _check_arguments(max_new_tokens, num_beams)
    max_new_tokens, num_beams = int(max_new_tokens), int(num_beams)
    if not prompts or max_new_tokens == 0:
        return "" if single else [""] * len(prompts)
    generator = generator_for(model, tokenizer)
    stop_ids = _resolve_stop_ids(tokenizer, stop_tokens)
    prompt_ids, lengths = generator.prepare_prompts(tf.constant(prompts))
    _check_fits(lengths, max_new_tokens, generator.stepper.max_length)
    penalty = tf.constant(float(length_penalty), tf.float32)
    if jit_compile:
        compiled = getattr(generator, "_beam_compiled", None)
        if compiled is None:
            compiled = generator._beam_compiled = {}
        key = (max_new_tokens, num_beams)
        if key not in compiled:
            def run(prompt_ids, lengths, penalty, stop_ids):
                return beam_search_ids(generator.stepper, prompt_ids, lengths, key[0], key[1], penalty, stop_ids)
            compiled[key] = tf.function(run, jit_compile=True, reduce_retracing=True)
        ids, new_lengths, _ = compiled[key](prompt_ids, lengths, penalty, stop_ids)
    else:
        ids, new_lengths, _ = beam_search_ids(generator.stepper, prompt_ids, lengths, max_new_tokens, num_beams,
                                              penalty, stop_ids)
    texts = tokenizer.detokenize(tf.RaggedTensor.from_tensor(ids, lengths=new_lengths))
    texts = [t.decode("utf-8", errors="replace") for t in texts.numpy()]
    return texts[0] if single else texts
