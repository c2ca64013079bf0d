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
    - Beam search ranks finished hypotheses by ``sum(log p) / L ** length_penalty``, ``L`` counting
      the scored tokens (the end token included), exactly as
      :mod:`keras_llm.generation.beam_search` does for GPTs, and stops a row only when no live beam
      can still beat its finished ones.
"""

import tensorflow as tf

from keras_llm.data.pairs import start_end_ids
from keras_llm.errors import UserInputError
from keras_llm.generation.seq2seq_cache import CachedSeq2Seq

_NEG_INF = float("-inf")


def _banned(vocab, start_id):
    """Bool ``(vocab,)``: ids never generated (padding and the start token)."""
    ids = tf.range(vocab)
    return (ids == 0) | (ids == tf.cast(start_id, tf.int32))


def _log_probs(logits, banned):
    return tf.nn.log_softmax(tf.where(banned, _NEG_INF, logits), axis=-1)


def _write_at(step, length, tokens):
    """Zeros of shape ``tokens.shape + (length,)`` with ``tokens`` at index ``step``."""
    return tf.one_hot(step, length, dtype=tf.int32) * tokens[..., tf.newaxis]


def _keep_shapes(body):
    # Gathers by computed indices lose static sizes; tf.while_loop needs them fixed.
    def wrapped(*state):
        return tf.nest.map_structure(lambda new, old: tf.ensure_shape(new, old.shape), body(*state), state)
    return wrapped


def _greedy(stepper, source_ids, new, start_id, end_id, use_cache):
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
        token = tf.argmax(_log_probs(logits, banned), axis=-1, output_type=tf.int32)
        stopped = finished | (token == end_id)
        emitted = tf.where(stopped, 0, token)
        return step + 1, token, cache, stopped, ids + _write_at(step, new, emitted)

    state = (tf.constant(0), tf.fill((batch,), tf.cast(start_id, tf.int32)), cache, tf.zeros((batch,), tf.bool),
             tf.zeros((batch, new), tf.int32))
    state = tf.while_loop(lambda step, *s: (step < new) & ~tf.reduce_all(s[2]), _keep_shapes(body), state)
    return state[-1]


def _beam(stepper, source_ids, new, start_id, end_id, num_beams, length_penalty):
    batch, vocab = tf.shape(source_ids)[0], stepper.vocab_size
    banned = _banned(vocab, start_id)
    is_end = tf.tile(tf.range(vocab) == end_id, [num_beams])  # flat beam * vocab + token order
    alpha = tf.cast(length_penalty, tf.float32)
    cross, source_mask = stepper.encode(source_ids)
    # Every beam of a row reads the same source, so these copies never need reordering.
    cross, source_mask = tf.nest.map_structure(lambda t: tf.repeat(t, num_beams, axis=0), (cross, source_mask))
    cache = stepper.empty_cache(batch * num_beams, new)

    def body(step, last_token, cache, alive_scores, alive_ids, done_scores, done_ids, finished):
        logits, cache = stepper.step(last_token[:, tf.newaxis], cache, cross, source_mask, step)
        log_probs = tf.reshape(_log_probs(logits[:, -1], banned), (batch, num_beams * vocab))
        candidates = tf.repeat(alive_scores, vocab, axis=1) + log_probs
        ends = is_end[tf.newaxis, :] | (step == new - 1)

        # The best non-ending extensions live on; the best ending ones are offered to the finished set.
        next_alive, pick = tf.math.top_k(tf.where(ends, _NEG_INF, candidates), num_beams)
        parent, next_token = pick // vocab, pick % vocab
        next_alive_ids = tf.gather(alive_ids, parent, batch_dims=1) + _write_at(step, new, next_token)
        ended, pick = tf.math.top_k(tf.where(ends, candidates, _NEG_INF), num_beams)
        emitted = tf.where(pick % vocab == end_id, 0, pick % vocab)
        ended_ids = tf.gather(alive_ids, pick // vocab, batch_dims=1) + _write_at(step, new, emitted)
        ranked = ended / tf.cast(step + 1, tf.float32) ** alpha
        next_done, merge = tf.math.top_k(tf.concat([done_scores, ranked], axis=1), num_beams)
        next_done_ids = tf.gather(tf.concat([done_ids, ended_ids], axis=1), merge, batch_dims=1)

        # Scores only fall (log p <= 0) and later hypotheses score L in step + 2 .. new tokens.
        later = tf.maximum(tf.cast(step + 2, tf.float32) ** alpha, tf.cast(new, tf.float32) ** alpha)
        row_done = (step + 1 >= new) | (next_alive[:, 0] / later <= next_done[:, -1])

        keep = ~finished[:, tf.newaxis]
        alive_scores = tf.where(keep, next_alive, alive_scores)
        alive_ids = tf.where(keep[..., tf.newaxis], next_alive_ids, alive_ids)
        done_scores = tf.where(keep, next_done, done_scores)
        done_ids = tf.where(keep[..., tf.newaxis], next_done_ids, done_ids)
        parent = tf.where(keep, parent, tf.range(num_beams)[tf.newaxis, :])
        rows = tf.reshape(tf.range(batch)[:, tf.newaxis] * num_beams + parent, [-1])
        cache = tf.nest.map_structure(lambda t: tf.gather(t, rows, axis=0), cache)
        last_token = tf.where(tf.repeat(~finished, num_beams), tf.reshape(next_token, [-1]), last_token)
        return step + 1, last_token, cache, alive_scores, alive_ids, done_scores, done_ids, finished | row_done

    # Only beam 0 is real at first; -inf keeps its identical copies from being expanded too.
    first = tf.concat([tf.zeros((batch, 1)), tf.fill((batch, num_beams - 1), _NEG_INF)], axis=1)
    state = (tf.constant(0), tf.fill((batch * num_beams,), tf.cast(start_id, tf.int32)), cache, first,
             tf.zeros((batch, num_beams, new), tf.int32), tf.fill((batch, num_beams), _NEG_INF),
             tf.zeros((batch, num_beams, new), tf.int32), tf.zeros((batch,), tf.bool))
    state = tf.while_loop(lambda step, *s: (step < new) & ~tf.reduce_all(s[-1]), _keep_shapes(body), state)
    return state[6][:, 0]


def _check_arguments(stepper, max_new_tokens, num_beams):
    num_beams, new = int(num_beams), int(max_new_tokens)
    if num_beams < 1 or new < 0:
        raise UserInputError(f"need num_beams >= 1 and max_new_tokens >= 0; got {num_beams} and {new}")
    if new > stepper.max_target_length:
        raise UserInputError(f"max_new_tokens must be at most the model's max_target_length "
                             f"{stepper.max_target_length}; got {new}")
    return num_beams, new


def translate_ids(model, source_ids, max_new_tokens, start_id, end_id, num_beams=1, length_penalty=1.0,
                  use_cache=True):
    """Decode target ids for each source: greedy (``num_beams=1``) or beam search.

    Args:
        model: a model from :func:`keras_llm.models.build_seq2seq_transformer` (built or reloaded).
        source_ids: int ``(batch, src_len)``, right-padded with 0; truncated to ``max_source_length``.
        max_new_tokens: Python int ≤ the model's ``max_target_length`` (it fixes tensor shapes).
        start_id, end_id: the target tokenizer's start and end ids (ints or scalar int tensors).
        num_beams: Python int ≥ 1.
        length_penalty: float (or scalar tensor) exponent of the beam ranking (module docstring).
        use_cache: False re-runs the full model at every greedy step (slow; the reference for tests).

    Returns:
        int32 ``(batch, max_new_tokens)``: the generated ids, without the end token, 0 after it.

    Example:
        >>> translate_ids(model, [[45, 12, 7, 0]], 10, start_id=2, end_id=3, num_beams=4)
    """
    stepper = CachedSeq2Seq(model)
    num_beams, new = _check_arguments(stepper, max_new_tokens, num_beams)
    if not use_cache and num_beams > 1:
        raise UserInputError("beam search always uses the cache (use_cache=False is for greedy decoding)")
    source_ids = tf.cast(source_ids, tf.int32)[:, :stepper.max_source_length]
    start_id, end_id = tf.cast(start_id, tf.int32), tf.cast(end_id, tf.int32)
    if new == 0:
        return tf.zeros((tf.shape(source_ids)[0], 0), tf.int32)
    if num_beams == 1:
        return _greedy(stepper, source_ids, new, start_id, end_id, use_cache)
    return _beam(stepper, source_ids, new, start_id, end_id, num_beams, length_penalty)


def translate(model, source_tokenizer, target_tokenizer, texts, max_new_tokens=None, num_beams=1,
              length_penalty=1.0, jit_compile=False):
    """Translate strings with a trained model and its two tokenizers.

    Sources longer than the model's ``max_source_length`` tokens are truncated to it; a text with no
    source tokens (e.g. ``""``) translates to ``""``.

    Args:
        model: a model from :func:`keras_llm.models.build_seq2seq_transformer`.
        source_tokenizer, target_tokenizer: the run's WordPiece tokenizers (target: ``[CLS]``
            starts, ``[SEP]`` ends a translation).
        texts: a str or a list of str.
        max_new_tokens: target tokens at most; defaults to ``max_target_length - 1``.
        num_beams, length_penalty: see :func:`translate_ids`.
        jit_compile: compile the decoding loop with XLA. On CPU it pays for greedy decoding
            (1.6× tf.function) but beam search ran 2–9× slower under XLA (its top-k over
            beams × vocabulary); see the benchmarks in docs/translation.md.

    Returns:
        A str, or a list of str for a list of texts.

    Example:
        >>> translate(model, eng_tok, spa_tok, ["I love you."], num_beams=4)
        ['te quiero .']
    """
    single = isinstance(texts, str)
    texts = [texts] if single else [str(text) for text in texts]
    if not texts:
        return []
    start_id, end_id = start_end_ids(target_tokenizer)
    stepper = CachedSeq2Seq(model)
    new = stepper.max_target_length - 1 if max_new_tokens is None else max_new_tokens
    _check_arguments(stepper, new, num_beams)  # here, not inside tf.function, for a plain error
    new = int(new)
    compiled = model.__dict__.setdefault("_keras_llm_translate", {})
    key = (new, int(num_beams), bool(jit_compile))
    if key not in compiled:
        def run(source_ids, penalty):
            return translate_ids(model, source_ids, new, start_id, end_id, key[1], penalty)
        compiled[key] = tf.function(run, jit_compile=key[2], reduce_retracing=True)
    source_ids = source_tokenizer.tokenize(tf.constant(texts)).to_tensor(0)
    # Texts with no tokens at all (e.g. "") would leave a 0-wide batch; one padding column keeps shapes valid.
    source_ids = tf.pad(source_ids, [[0, 0], [0, tf.maximum(1 - tf.shape(source_ids)[1], 0)]])
    ids = compiled[key](source_ids, tf.constant(float(length_penalty)))
    # A source without tokens has nothing to translate (the exported model answers "" too).
    texts = tf.where(tf.reduce_any(source_ids > 0, axis=1), target_tokenizer.detokenize(ids), "")
    out = [text.decode("utf-8", errors="replace") for text in texts.numpy()]
    return out[0] if single else out
