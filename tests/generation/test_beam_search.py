"""Beam search: greedy at one beam, exhaustive at many, cached == uncached, XLA == eager, batching."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.generation import CachedGPT, DecodingOptions, decode, generate
from keras_llm.generation.beam_search import beam_generate, beam_search_ids
from keras_llm.models import GPTConfig, build_gpt
from keras_llm.models.gpt import FINAL_NORM
from keras_llm.tokenizers import CharTokenizer

TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"


def tiny_gpt(vocab_size, seed):
    keras.utils.set_random_seed(seed)
    model = build_gpt(GPTConfig(vocab_size=vocab_size, max_length=16, num_layers=2, num_heads=2, hidden_dim=16))
    # A random model is nearly uniform; sharper logits keep candidate scores far from ties.
    norm = model.get_layer(FINAL_NORM)
    norm.gamma.assign(norm.gamma * 4.0)
    return model


@pytest.fixture(scope="module")
def tokenizer():
    return CharTokenizer.train(TEXT)


@pytest.fixture(scope="module")
def model(tokenizer):
    return tiny_gpt(tokenizer.vocab_size, seed=7)


def log_probs_after(model, sequences):
    """float64 ``(len(sequences), vocab)`` next-token log-probs from full forward passes."""
    logits = model(np.array(sequences, dtype="int32")).numpy()[:, -1].astype("float64")
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def reference_beam_search(model, prompt, max_new_tokens, num_beams, length_penalty, stop_ids):
    """Plain-Python beam search with uncached full forward passes and no early stopping."""
    alive, finished = [(0.0, [])], []  # (score, tokens); finished: (ranked, score, emitted)
    for step in range(max_new_tokens):
        log_probs = log_probs_after(model, [prompt + tokens for _, tokens in alive])
        going = []
        for (score, tokens), row in zip(alive, log_probs):
            for token, log_prob in enumerate(row):
                total = score + log_prob
                if token in stop_ids or step == max_new_tokens - 1:
                    emitted = tokens if token in stop_ids else tokens + [token]
                    finished.append((total / (step + 1) ** length_penalty, total, emitted))
                else:
                    going.append((total, tokens + [token]))
        finished = sorted(finished, key=lambda h: -h[0])[:num_beams]
        alive = sorted(going, key=lambda h: -h[0])[:num_beams]
    return finished[0]


def beams(max_new_tokens, num_beams, **options):
    return DecodingOptions(max_new_tokens=max_new_tokens, num_beams=num_beams, **options)


def pad(rows, width):
    return np.array([row + [0] * (width - len(row)) for row in rows], dtype="int32")


def test_one_beam_is_greedy(model):
    stepper = CachedGPT(model)
    prompts = [[3, 4, 5], [7], [1, 2, 3, 4, 5, 6, 7]]
    ids, lengths = pad(prompts, 8), np.array([len(p) for p in prompts], "int32")
    greedy, greedy_lengths = decode(stepper, ids, lengths, DecodingOptions(max_new_tokens=8))
    beam, beam_lengths, _ = beam_search_ids(stepper, ids, lengths, beams(8, 1))
    np.testing.assert_array_equal(beam, greedy)
    np.testing.assert_array_equal(beam_lengths, greedy_lengths)


def test_one_beam_text_equals_greedy_generate(model, tokenizer):
    prompts = ["To be", "", "the mind"]
    assert beam_generate(model, tokenizer, prompts, beams(6, 1), jit_compile=False) == generate(
        model, tokenizer, prompts, DecodingOptions(max_new_tokens=6), jit_compile=False)


def test_enough_beams_find_the_exhaustive_best():
    vocab, new, prompt = 6, 3, [1, 4, 2]
    model = tiny_gpt(vocab, seed=3)
    # Every 2-token continuation in one batch gives all three steps' log-probs.
    prefixes = list(itertools.product(range(vocab), repeat=new - 1))
    logits = model(np.array([prompt + list(p) for p in prefixes], dtype="int32")).numpy().astype("float64")
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    best = max(
        ((sum(log_probs[i, len(prompt) - 1 + t, tok] for t, tok in enumerate(p + (last,))), p + (last,))
         for i, p in enumerate(prefixes) for last in range(vocab)))
    ids, lengths, scores = beam_search_ids(CachedGPT(model), [prompt], [len(prompt)],
                                           beams(new, vocab ** (new - 1), length_penalty=0.0))
    assert tuple(ids.numpy()[0]) == best[1]
    assert lengths.numpy()[0] == new
    np.testing.assert_allclose(scores.numpy()[0], best[0], rtol=1e-5)


class MarkovStepper:
    """A stand-in for CachedGPT whose next-token log-probs depend only on the last token."""

    max_length, vocab_size = 16, 10

    def __init__(self, table):
        self.table = tf.constant(table, tf.float32)  # (vocab, vocab) log-probs

    def empty_cache(self, batch_size):
        return tf.zeros((batch_size, 1))

    def __call__(self, token_ids, cache, slot):
        return tf.gather(self.table, token_ids), cache


@pytest.mark.parametrize("length_penalty, expected", [(0.0, []), (1.0, [1] * 6)])
def test_early_stop_keeps_a_longer_beam_that_wins_after_normalization(length_penalty, expected):
    # After token 0: stop (2) at log p = -1, token 1 at -2.5 (the best non-stop), 3..9 a bit below.
    # After token 1: token 1 again, almost surely. At length_penalty=1 the 6-token beam scores
    # about -2.5 / 6 > -1 / 1, though after one step its raw -2.5 is below the finished -1.
    rest = np.log((1 - np.exp(-1.0) - np.exp(-2.5)) / 7)
    table = np.full((10, 10), np.log(1e-4 / 9))
    table[0] = [rest, -2.5, -1.0] + [rest] * 7
    table[1, 1] = np.log(1 - 1e-4)
    table[2:] = np.log(0.1)
    ids, lengths, _ = beam_search_ids(MarkovStepper(table), [[0]], [1],
                                      beams(6, 1, length_penalty=length_penalty, stop_tokens=[2]))
    assert list(ids.numpy()[0][:lengths.numpy()[0]]) == expected


@pytest.mark.parametrize("length_penalty", [0.0, 1.0, 2.0])
def test_cached_beam_search_equals_uncached_reference(model, length_penalty):
    stepper = CachedGPT(model)
    prompts, new = [[5, 9, 12, 3], [20, 2]], 6
    # Stop on the two tokens greedy decoding likes first, so hypotheses do end early.
    greedy, _ = decode(stepper, pad(prompts, 4), [4, 2], DecodingOptions(max_new_tokens=2))
    stop_ids = sorted({int(greedy[0, 0]), int(greedy[1, 1])})
    ids, lengths, scores = beam_search_ids(stepper, pad(prompts, 4), [4, 2],
                                           beams(new, 3, length_penalty=length_penalty, stop_tokens=stop_ids))
    for row, prompt in enumerate(prompts):
        ranked, _, emitted = reference_beam_search(model, prompt, new, 3, length_penalty, stop_ids)
        assert lengths.numpy()[row] == len(emitted)
        assert list(ids.numpy()[row]) == emitted + [0] * (new - len(emitted))
        np.testing.assert_allclose(scores.numpy()[row], ranked, rtol=1e-4)


def test_xla_equals_eager_and_batching_equals_one_by_one(model):
    stepper = CachedGPT(model)
    prompts = [[5, 9, 12, 3, 8], [20], [1, 2, 3]]
    ids, lengths = pad(prompts, 16), np.array([len(p) for p in prompts], "int32")
    stop_ids = tf.constant([4, 11])

    def search(ids, lengths):
        return beam_search_ids(stepper, ids, lengths, beams(7, 3, length_penalty=0.7), stop_ids)

    eager = search(ids, lengths)
    compiled = tf.function(search, jit_compile=True)(ids, lengths)
    for got, want in zip(compiled, eager):
        np.testing.assert_allclose(got, want, rtol=1e-5)
    for row, prompt in enumerate(prompts):
        alone = search(pad([prompt], len(prompt)), [len(prompt)])
        np.testing.assert_array_equal(alone[0][0], eager[0][row])
        np.testing.assert_array_equal(alone[1][0], eager[1][row])
        np.testing.assert_allclose(alone[2][0], eager[2][row], rtol=1e-5)


def test_beam_generate_jit_equals_eager_and_stops(model, tokenizer):
    prompts = ["To be", "the"]
    options = beams(8, 3)
    eager = beam_generate(model, tokenizer, prompts, options, jit_compile=False)
    assert beam_generate(model, tokenizer, prompts, options, jit_compile=True) == eager
    assert all(len(text) == 8 for text in eager)
    stop = eager[0][3]
    stopped = beam_generate(model, tokenizer, "To be", options.replace(stop_tokens=[stop]), jit_compile=False)
    assert stop not in stopped
    assert beam_generate(model, tokenizer, ["To", "be"], beams(0, 4)) == ["", ""]


def test_bad_arguments(model, tokenizer):
    with pytest.raises(UserInputError, match="num_beams"):
        beams(5, 0)
    with pytest.raises(UserInputError, match="max_new_tokens"):
        beams(-1, 4)
    with pytest.raises(UserInputError, match="context"):
        beam_generate(model, tokenizer, "To be or not", beams(5, 4))  # 12 + 5 > 16: beams do not slide the window
    with pytest.raises(UserInputError, match="context"):
        beam_search_ids(CachedGPT(model), [[1, 2, 3]], [3], beams(14, 4))
    with pytest.raises(UserInputError, match="single token"):
        beam_generate(model, tokenizer, "To", beams(5, 4, stop_tokens=["ab"]))
    with pytest.raises(UserInputError, match="Python ints"):
        beam_search_ids(CachedGPT(model), [[1, 2, 3]], [3], beams(None, 4))
