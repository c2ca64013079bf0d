"""Greedy and beam-search decoding of an encoder–decoder Transformer: one ``tf.while_loop``.

The encoder runs once, every decoder block's cross-attention keys/values are computed once per
source, and the decoder runs one token per step with a self-attention key/value cache. All shapes
are fixed, so the loop works eagerly, inside ``tf.function`` (e.g. a SavedModel signature) and
under ``jit_compile=True``.

Conventions:
    - The decoder starts from ``start_id`` at position 0; the token chosen at step ``t`` is fed
      at position ``t + 1``, so ``max_new_tokens`` may be at most the model's ``max_target_length``.
    - A hypothesis ends at ``end_id``; the end token is scored but not emitted, and everything
      after it is 0 (padding). Padding (id 0) and ``start_id`` are never generated.
    - Sources longer than the model's ``max_source_length`` are truncated to it (their tail is
      dropped). Source id 0 is padding.
    - Beam search is the one beam core (:mod:`keras_llm.generation.beam_core`, shared with GPTs)
      with this module's step function: it ranks finished hypotheses by
      ``sum(log p) / L ** length_penalty``, ``L`` counting the scored tokens (the end token
      included), and stops a row only when no live beam can still beat its finished ones.
"""

import tensorflow as tf

from keras_llm.data.pairs import start_end_ids
from keras_llm.errors import UserInputError
from keras_llm.generation.beam_core import NEG_INF, beam_search, beam_sizes, keeping_shapes
from keras_llm.generation.compiled import compiled_function
from keras_llm.generation.options import DecodingOptions, options_or
from keras_llm.generation.output_constraints import constrain
from keras_llm.generation.seq2seq_cache import CachedSeq2Seq


def _banned(vocab, start_id):
    """Bool ``(vocab,)``: ids never generated (padding and the start token)."""
    ids = tf.range(vocab)
    return (ids == 0) | (ids == tf.cast(start_id, tf.int32))


def _log_probs(logits, banned):
    return tf.nn.log_softmax(tf.where(banned, NEG_INF, logits), axis=-1)


def _write_at(step, length, tokens):
    """Zeros of shape ``tokens.shape + (length,)`` with ``tokens`` at index ``step``."""
    return tf.one_hot(step, length, dtype=tf.int32) * tokens[..., tf.newaxis]


def _constraints(options):
    """``(min_new_tokens, no_repeat_ngram_size)`` of ``options`` as Python ints (they shape the loop)."""
    return int(options.min_new_tokens), int(options.no_repeat_ngram_size)


def _greedy(stepper, source_ids, options, start_id, end_id, use_cache):
    new, (min_new, no_repeat) = beam_sizes(options)[1], _constraints(options)
    batch = tf.shape(source_ids)[0]
    banned = _banned(stepper.vocab_size, start_id)
    cross, source_mask = stepper.encode(source_ids) if use_cache else (None, None)
    cache = stepper.empty_cache(batch, new) if use_cache else tf.zeros((0,))

    def body(step, last_token, cache, finished, ids):
        if use_cache:
            logits, cache = stepper.step(last_token[:, tf.newaxis], cache, cross, source_mask, step)
            logits = logits[:, -1]
        else:  # reference path: re-run the whole model on [start] + tokens so far
            decoder_ids = tf.concat([tf.fill((batch, 1), start_id), ids[:, :-1]], axis=1)
            logits = tf.gather(stepper.full_logits(source_ids, decoder_ids), step, axis=1)
        history = tf.concat([tf.fill((batch, 1), start_id), ids], axis=1)
        log_probs = constrain(_log_probs(logits, banned), step, history, end_id, min_new, no_repeat)
        token = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        stopped = finished | (token == end_id)
        emitted = tf.where(stopped, 0, token)
        return step + 1, token, cache, stopped, ids + _write_at(step, new, emitted)

    state = (tf.constant(0), tf.fill((batch,), tf.cast(start_id, tf.int32)), cache, tf.zeros((batch,), tf.bool),
             tf.zeros((batch, new), tf.int32))
    state = tf.while_loop(lambda step, *s: (step < new) & ~tf.reduce_all(s[2]), keeping_shapes(body), state)
    return state[-1]


def seq2seq_step(stepper, cross, source_mask, banned, end_id=None, constraints=(0, 0)):
    """The encoder–decoder step function of the beam core: loop counter ``t`` is the decoder position.

    The cache is ``(self-attention caches, history)``: ``history`` int32 ``(rows, new + 1)`` holds
    each beam's tokens (the fed token is written at index ``t``), and the beam core reorders it with
    the beams, which is what the output constraints (``(min_new_tokens, no_repeat_ngram_size)``) read.
    """
    def step(t, tokens, cache):
        layer_caches, history = cache
        logits, layer_caches = stepper.step(tokens[:, tf.newaxis], layer_caches, cross, source_mask, t)
        history = history + _write_at(t, history.shape[1], tokens)
        log_probs = constrain(_log_probs(logits[:, -1], banned), t, history, end_id, *constraints)
        return log_probs, (layer_caches, history)

    return step


def _beam(stepper, source_ids, options, start_id, end_id):
    num_beams, new = beam_sizes(options)
    batch = tf.shape(source_ids)[0]
    cross, source_mask = stepper.encode(source_ids)
    # Every beam of a row reads the same source, so these copies never need reordering.
    cross, source_mask = tf.nest.map_structure(lambda t: tf.repeat(t, num_beams, axis=0), (cross, source_mask))
    step = seq2seq_step(stepper, cross, source_mask, _banned(stepper.vocab_size, start_id), end_id,
                        _constraints(options))
    first = tf.fill((batch * num_beams,), start_id)
    cache = (stepper.empty_cache(batch * num_beams, new), tf.zeros((batch * num_beams, new + 1), tf.int32))
    ids, _, _ = beam_search(step, cache, first, tf.zeros((batch,), tf.int32), options, end_id[tf.newaxis],
                            stepper.vocab_size)
    return ids


def _resolve_options(stepper, options):
    """``options`` checked against the model, ``max_new_tokens=None`` made ``max_target_length - 1``."""
    if options.max_new_tokens is None:
        options = options.replace(max_new_tokens=stepper.max_target_length - 1)
    num_beams, new = beam_sizes(options)
    if new > stepper.max_target_length:
        raise UserInputError(f"max_new_tokens must be at most the model's max_target_length "
                             f"{stepper.max_target_length}; got {new}")
    if options.strategy != "greedy":
        raise UserInputError(f"translation decodes greedily or with beams (num_beams); got strategy "
                             f"{options.strategy!r}")
    return options


def translate_ids(model, source_ids, options, start_id, end_id, use_cache=True):
    """Decode target ids for each source: greedy (``num_beams=1``) or beam search.

    Args:
        model: a model from :func:`keras_llm.models.build_seq2seq_transformer` (built or reloaded).
        source_ids: int ``(batch, src_len)``, right-padded with 0; truncated to ``max_source_length``.
        options: :class:`~keras_llm.generation.options.DecodingOptions` with ``strategy="greedy"``:
            ``max_new_tokens`` (a Python int ≤ the model's ``max_target_length``, since it fixes
            tensor shapes; ``None`` is ``max_target_length - 1``), ``num_beams`` (a Python int; 1 is
            greedy), ``length_penalty`` (float or scalar tensor; see ``beam_core``), ``min_new_tokens``
            and ``no_repeat_ngram_size`` (Python ints; :mod:`~keras_llm.generation.output_constraints`).
        start_id, end_id: the target tokenizer's start and end ids (ints or scalar int tensors).
        use_cache: False re-runs the full model at every greedy step (slow; the reference for tests).

    Returns:
        int32 ``(batch, max_new_tokens)``: the generated ids, without the end token, 0 after it.

    Example:
        >>> translate_ids(model, [[45, 12, 7, 0]], DecodingOptions(max_new_tokens=10, num_beams=4), 2, 3)
    """
    stepper = CachedSeq2Seq(model)
    options = _resolve_options(stepper, options_or(options, None))
    num_beams, new = beam_sizes(options)
    if not use_cache and num_beams > 1:
        raise UserInputError("beam search always uses the cache (use_cache=False is for greedy decoding)")
    source_ids = tf.cast(source_ids, tf.int32)[:, :stepper.max_source_length]
    start_id, end_id = tf.cast(start_id, tf.int32), tf.cast(end_id, tf.int32)
    if new == 0:
        return tf.zeros((tf.shape(source_ids)[0], 0), tf.int32)
    if num_beams == 1:
        return _greedy(stepper, source_ids, options, start_id, end_id, use_cache)
    return _beam(stepper, source_ids, options, start_id, end_id)


def _compile_translate(model, static):
    """A compiled :func:`translate_ids` for ``static = (max_new_tokens, num_beams, start_id, end_id, jit,
    min_new_tokens, no_repeat_ngram_size)``."""
    new, num_beams, start_id, end_id, jit_compile, min_new, no_repeat = static

    def run(source_ids, penalty):
        options = DecodingOptions(max_new_tokens=new, num_beams=num_beams, length_penalty=penalty,
                                  min_new_tokens=min_new, no_repeat_ngram_size=no_repeat)
        return translate_ids(model, source_ids, options, start_id, end_id)

    return tf.function(run, jit_compile=jit_compile, reduce_retracing=True)


def translate(model, source_tokenizer, target_tokenizer, texts, options=None, jit_compile=False):
    """Translate strings with a trained model and its two tokenizers.

    Sources longer than the model's ``max_source_length`` tokens are truncated to it; a text with no
    source tokens (e.g. ``""``) translates to ``""``.

    Args:
        model: a model from :func:`keras_llm.models.build_seq2seq_transformer`.
        source_tokenizer, target_tokenizer: the run's WordPiece tokenizers (target: ``[CLS]``
            starts, ``[SEP]`` ends a translation).
        texts: a str or a list of str.
        options: :class:`~keras_llm.generation.options.DecodingOptions` as in :func:`translate_ids`
            (default: greedy, ``max_new_tokens=None``, i.e. ``max_target_length - 1``).
        jit_compile: compile the decoding loop with XLA. On CPU it pays for greedy decoding
            (1.6× tf.function) but beam search ran 2–9× slower under XLA (its top-k over
            beams × vocabulary); see the benchmarks in docs/translation.md.

    Returns:
        A str, or a list of str for a list of texts.

    Example:
        >>> translate(model, eng_tok, spa_tok, ["I love you."], DecodingOptions(max_new_tokens=None, num_beams=4))
        ['te quiero .']
    """
    options = options_or(options, DecodingOptions(max_new_tokens=None))
    single = isinstance(texts, str)
    texts = [texts] if single else [str(text) for text in texts]
    if not texts:
        return []
    start_id, end_id = start_end_ids(target_tokenizer)
    options = _resolve_options(CachedSeq2Seq(model), options)  # here, not inside tf.function, for a plain error
    num_beams, new = beam_sizes(options)
    static = (new, num_beams, int(start_id), int(end_id), bool(jit_compile), *_constraints(options))
    run = compiled_function(model, "translate", static, lambda: _compile_translate(model, static))
    source_ids = source_tokenizer.tokenize(tf.constant(texts)).to_tensor(0)
    # Texts with no tokens at all (e.g. "") would leave a 0-wide batch; one padding column keeps shapes valid.
    source_ids = tf.pad(source_ids, [[0, 0], [0, tf.maximum(1 - tf.shape(source_ids)[1], 0)]])
    ids = run(source_ids, tf.constant(float(options.length_penalty)))
    # A source without tokens has nothing to translate (the exported model answers "" too).
    texts = tf.where(tf.reduce_any(source_ids > 0, axis=1), target_tokenizer.detokenize(ids), "")
    out = [text.decode("utf-8", errors="replace") for text in texts.numpy()]
    return out[0] if single else out
