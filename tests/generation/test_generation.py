"""Decoding: cached == uncached, sampler supports, seeds, stop tokens, edge-case prompts."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.generation import CachedGPT, DecodingOptions, decode, filter_logits, generate, select_next_token
from keras_llm.models import GPTConfig, build_gpt
from keras_llm.tokenizers import CharTokenizer

TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"


@pytest.fixture(scope="module")
def tokenizer():
    return CharTokenizer.train(TEXT)


@pytest.fixture(scope="module")
def model(tokenizer):
    keras.utils.set_random_seed(7)
    return build_gpt(GPTConfig(vocab_size=tokenizer.vocab_size, max_length=16, num_layers=2, num_heads=2,
                               hidden_dim=16))


@pytest.mark.parametrize("jit", [False, True])
def test_cached_greedy_equals_uncached_through_window_slides(model, jit):
    stepper = CachedGPT(model)
    ids = tf.constant([[1, 2, 3] + [0] * 13, list(range(1, 17))], tf.int32)
    lengths = tf.constant([3, 16])

    def run(use_cache):
        fn = lambda i, n: decode(stepper, i, n, DecodingOptions(max_new_tokens=40), use_cache=use_cache)  # noqa: E731
        return tf.function(fn, jit_compile=True)(ids, lengths) if jit else fn(ids, lengths)

    cached, cached_lengths = run(True)
    uncached, _ = run(False)
    np.testing.assert_array_equal(cached_lengths, [40, 40])
    np.testing.assert_array_equal(cached, uncached)  # 40 new tokens: the 16-token window slid 4+ times


def test_cached_step_logits_equal_full_forward(model, rng):
    stepper = CachedGPT(model)
    ids = rng.integers(0, stepper.vocab_size, size=(2, 16)).astype("int32")
    full = model(ids).numpy()
    logits, cache = stepper(ids[:, :5], stepper.empty_cache(2), 0)
    pieces = [logits.numpy()]
    for t in range(5, 16):
        logits, cache = stepper(ids[:, t:t + 1], cache, t)
        pieces.append(logits.numpy())
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, atol=1e-4)


def test_greedy_matches_argmax_of_full_model(model, tokenizer):
    prompt = "To be"
    text = generate(model, tokenizer, prompt, DecodingOptions(max_new_tokens=6), jit_compile=False)
    ids = tokenizer.encode(prompt)
    for _ in range(6):
        ids.append(int(np.argmax(model(np.array([ids]))[0, -1])))
    assert text == tokenizer.decode(ids[len(tokenizer.encode(prompt)):])


def test_top_k_and_top_p_never_leave_their_support(rng):
    logits = rng.normal(size=(4, 30)).astype("float32") * 3
    top4 = np.argsort(-logits, axis=-1)[:, :4]
    probs = tf.nn.softmax(logits).numpy()
    for step in range(200):
        token = select_next_token(logits, DecodingOptions(strategy="sample", top_k=4), seed=(step, 0)).numpy()
        assert all(token[b] in top4[b] for b in range(4))
    kept = np.isfinite(filter_logits(logits, top_p=0.5).numpy())
    for b in range(4):
        order = np.argsort(-probs[b])
        mass_before = np.cumsum(probs[b][order]) - probs[b][order]
        expected = set(order[mass_before < 0.5])
        assert set(np.flatnonzero(kept[b])) == expected
    for step in range(200):
        token = select_next_token(logits, DecodingOptions(strategy="sample", top_p=0.5), seed=(step, 1)).numpy()
        assert all(kept[b, token[b]] for b in range(4))


def test_same_seed_same_text(model, tokenizer):
    options = DecodingOptions(strategy="sample", max_new_tokens=20, temperature=1.0, top_k=10, seed=3)
    first = generate(model, tokenizer, ["To", "be"], options, jit_compile=False)
    assert generate(model, tokenizer, ["To", "be"], options, jit_compile=False) == first
    assert generate(model, tokenizer, ["To", "be"], options.replace(seed=4), jit_compile=False) != first


def test_stop_tokens_end_a_completion(model, tokenizer):
    free = generate(model, tokenizer, "be", DecodingOptions(max_new_tokens=30), jit_compile=False)
    stop = free[5]
    stopped = generate(model, tokenizer, "be", DecodingOptions(max_new_tokens=30, stop_tokens=[stop]),
                       jit_compile=False)
    assert stopped == free[:free.index(stop)]


def test_edge_case_prompts(model, tokenizer):
    five = DecodingOptions(max_new_tokens=5)
    out = generate(model, tokenizer, ["", "\u4e2d\u6587", "x" * 5 + "To be" * 50], five, jit_compile=False)
    assert [len(t) for t in out] == [5, 5, 5]
    # A prompt longer than the context keeps its last tokens.
    long_prompt = "nobler " * 20
    assert generate(model, tokenizer, long_prompt, five, jit_compile=False) == generate(
        model, tokenizer, long_prompt[-16:], five, jit_compile=False)
    assert generate(model, tokenizer, ["To", "be"], DecodingOptions(max_new_tokens=0)) == ["", ""]


def test_bad_arguments(model, tokenizer):
    with pytest.raises(UserInputError, match="strategy"):
        DecodingOptions(strategy="beam", max_new_tokens=5)
    with pytest.raises(UserInputError, match="temperature"):
        DecodingOptions(strategy="sample", max_new_tokens=5, temperature=0)
    with pytest.raises(UserInputError, match="single token"):
        generate(model, tokenizer, "To", DecodingOptions(max_new_tokens=5, stop_tokens=["ab"]))
    with pytest.raises(UserInputError, match="beam_generate"):
        generate(model, tokenizer, "To", DecodingOptions(max_new_tokens=5, num_beams=2))


@pytest.mark.parametrize("jit", [False, True])
def test_greedy_loop_equals_the_sampler_restricted_to_its_top_token(model, jit):
    # Greedy decoding compiles an argmax-only loop; sampling from the top-1 support must pick the same tokens.
    stepper = CachedGPT(model)
    ids = tf.constant([[4, 5] + [0] * 6, [1, 2, 3, 4, 5, 6, 7, 8]], tf.int32)
    lengths = tf.constant([2, 8])

    def run(options):
        fn = lambda i, n: decode(stepper, i, n, options)  # noqa: E731
        return tf.function(fn, jit_compile=True)(ids, lengths) if jit else fn(ids, lengths)

    greedy = DecodingOptions(max_new_tokens=12)
    top_one = DecodingOptions(strategy="sample", max_new_tokens=12, temperature=0.5, top_k=1, seed=9)
    np.testing.assert_array_equal(run(greedy)[0], run(top_one)[0])
