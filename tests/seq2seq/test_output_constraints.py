"""Decoding constraints of encoder–decoder models: no repeated n-grams and a minimum length, in the
greedy loop (cached and uncached alike) and in beam search."""

import numpy as np
import pytest
import tensorflow as tf

from keras_llm.generation import DecodingOptions
from keras_llm.generation.output_constraints import repeated_ngram_bans
from keras_llm.generation.seq2seq_search import translate_ids
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer

START, END = 2, 3


def _bans_by_hand(row, known, n):
    tokens, banned = list(row[:known]), set()
    for j in range(0, known - n + 1):
        if tokens[j:j + n - 1] == tokens[known - n + 1:known]:
            banned.add(tokens[j + n - 1])
    return banned


@pytest.mark.parametrize("n", [1, 2, 3])
def test_bans_match_a_loop_by_hand(n):
    rng = np.random.default_rng(n)
    history = rng.integers(0, 4, size=(64, 9)).astype("int32")  # 4 tokens: repeats are frequent
    for known in range(1, 10):
        banned = repeated_ngram_bans(tf.constant(history), tf.constant(known), n, 6).numpy()
        for row, flags in zip(history, banned):
            assert set(np.flatnonzero(flags)) == _bans_by_hand(row, known, n), (row, known)


@pytest.fixture(scope="module")
def model():
    tf.keras.utils.set_random_seed(3)
    return build_seq2seq_transformer(Seq2SeqConfig(40, 12, num_encoder_layers=1, num_decoder_layers=1, num_heads=2,
                                                   hidden_dim=16, max_source_length=8, max_target_length=16,
                                                   dropout=0.0))


SOURCES = np.array([[5, 6, 7, 0], [9, 9, 4, 8], [11, 0, 0, 0]], "int32")


def _has_repeated_ngram(ids, n):
    for row in ids:
        tokens = [START, *row[row > 0]]
        grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
        if len(grams) != len(set(grams)):
            return True
    return False


# Beam search compiles a second loop per case: under -m slow, to keep the default suite's budget.
BEAMS = [1, pytest.param(3, marks=pytest.mark.slow)]


@pytest.mark.parametrize("num_beams", BEAMS)
def test_no_repeated_ngrams(model, num_beams):
    # A 12-token random decoder repeats itself within 15 tokens; with the constraint it never does.
    free = translate_ids(model, SOURCES, DecodingOptions(max_new_tokens=15, num_beams=num_beams), START, 99).numpy()
    assert _has_repeated_ngram(free, 2)
    options = DecodingOptions(max_new_tokens=15, num_beams=num_beams, no_repeat_ngram_size=2)
    ids = translate_ids(model, SOURCES, options, START, 99).numpy()
    assert not _has_repeated_ngram(ids, 2)


def test_cached_and_uncached_greedy_agree_under_constraints(model):
    options = DecodingOptions(max_new_tokens=12, no_repeat_ngram_size=2, min_new_tokens=3)
    cached = translate_ids(model, SOURCES, options, START, END).numpy()
    uncached = translate_ids(model, SOURCES, options, START, END, use_cache=False).numpy()
    np.testing.assert_array_equal(cached, uncached)


@pytest.mark.parametrize("num_beams", BEAMS)
def test_min_new_tokens_bars_the_end_token(model, num_beams):
    first = translate_ids(model, SOURCES, DecodingOptions(max_new_tokens=1), START, 99).numpy()[:, 0]
    end = int(first[0])  # the token row 0 picks first: as the end token, row 0 ends at once
    free = translate_ids(model, SOURCES[:1], DecodingOptions(max_new_tokens=10), START, end).numpy()
    assert (free > 0).sum() == 0
    options = DecodingOptions(max_new_tokens=10, num_beams=num_beams, min_new_tokens=4)
    ids = translate_ids(model, SOURCES[:1], options, START, end).numpy()
    assert (ids[0] > 0).sum() >= 4 and end not in ids[0][:4]


def test_min_longer_than_max_is_refused():
    from keras_llm.errors import UserInputError

    with pytest.raises(UserInputError, match="min_new_tokens"):
        DecodingOptions(max_new_tokens=3, min_new_tokens=5)
