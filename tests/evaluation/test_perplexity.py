"""Strided perplexity: every token after the first scored once, equal to the plain computations it generalises."""

import math

import numpy as np
import pytest

from keras_llm.errors import UserInputError
from keras_llm.evaluation.perplexity import (
    count_windows,
    language_model_metrics,
    strided_negative_log_likelihood,
    strided_windows,
)
from keras_llm.experiments.lm_scoring import neural_stream_loss
from keras_llm.runs import load_gpt_run


@pytest.mark.parametrize("num_tokens, context, stride", [(2, 4, 4), (10, 4, 2), (10, 4, 4), (11, 4, 3), (5, 8, 1),
                                                         (100, 16, 1), (100, 16, 7), (101, 16, 16), (17, 16, 5)])
def test_windows_score_each_token_once_with_at_least_context_minus_stride_plus_one(num_tokens, context, stride):
    targets, min_context = [], []
    windows = list(strided_windows(num_tokens, context, stride))
    for number, window in enumerate(windows):
        assert window.start == number * stride and 0 < window.stop - window.start <= context
        scored = range(window.start + 1 + window.first_scored, window.stop + 1)  # position p predicts start + p + 1
        targets += list(scored)
        if number:
            min_context.append(min(target - window.start for target in scored))
    assert targets == list(range(1, num_tokens))
    assert all(seen >= context - stride + 1 for seen in min_context)
    assert count_windows(num_tokens, context, stride) == len(windows)


def test_a_stride_larger_than_the_context_or_too_few_tokens_is_refused():
    with pytest.raises(UserInputError, match="larger than the model's context of 4"):
        list(strided_windows(10, 4, 5))
    with pytest.raises(UserInputError, match="positive"):
        list(strided_windows(10, 4, 0))
    with pytest.raises(UserInputError, match="at least 2 tokens"):
        list(strided_windows(1, 4, 2))


@pytest.fixture(scope="module")
def model_and_ids(trained_run, tiny_corpus):
    model, tokenizer, info = load_gpt_run(str(trained_run[0]))
    ids = np.asarray(tokenizer.encode(tiny_corpus.read_text(encoding="utf-8")[:700]), np.int32)
    return model, ids, info["model_config"]["max_length"]


def test_stride_equal_to_the_context_is_the_plain_non_overlapping_computation(model_and_ids):
    model, ids, context = model_and_ids
    total, count = strided_negative_log_likelihood(model, ids, context, stride=context, batch_size=5)
    assert count == len(ids) - 1
    reference = neural_stream_loss(model, ids, context, model.output_shape[-1])  # experiments/lm_scoring.py
    np.testing.assert_allclose(total / count, reference, rtol=1e-5)


def _reference_nll(model, ids, context, stride):
    """One forward pass per token: token i read from the window that the strided recipe gives it."""
    total = 0.0
    for i in range(1, len(ids)):
        window = 0 if i <= context else math.ceil((i - context) / stride)  # first window reaching target i
        inputs = ids[window * stride:i][None]
        logits = np.asarray(model(inputs, training=False), np.float64)[0, -1]
        log_norm = np.log(np.exp(logits - logits.max()).sum()) + logits.max()
        total += log_norm - logits[ids[i]]
    return total


@pytest.mark.filterwarnings("ignore:You are using a softmax")  # the one-token input of target 1
@pytest.mark.parametrize("stride", [1, 5])
def test_small_strides_match_a_per_token_reference_loop(model_and_ids, stride):
    model, ids, context = model_and_ids
    ids = ids[:80]  # 79 targets: a few windows past the first
    total, count = strided_negative_log_likelihood(model, ids, context, stride=stride, batch_size=4)
    assert count == len(ids) - 1
    np.testing.assert_allclose(total, _reference_nll(model, ids, context, stride), rtol=1e-5)


def test_metrics_convert_nats_to_perplexity_and_bits():
    metrics = language_model_metrics(100 * math.log(2), 100, 50)
    assert metrics["cross_entropy"] == pytest.approx(math.log(2))
    assert metrics["perplexity"] == pytest.approx(2.0)
    assert metrics["bits_per_token"] == pytest.approx(1.0)
    assert metrics["bits_per_character"] == pytest.approx(2.0)  # the same nats over half as many characters
    assert language_model_metrics(1.0, 1, 0)["bits_per_character"] is None


def test_bits_per_character_count_the_characters_the_scored_tokens_spell():
    from keras_llm.runs.gpt_files import scored_characters
    from keras_llm.tokenizers import ByteBPETokenizer, CharTokenizer

    chars = CharTokenizer.train("abc ")
    ids = chars.encode("abXc a")  # "X" is not in the vocabulary: dropped, so never scored
    assert scored_characters(chars, ids) == (5, 4)
    text = "the cat sat on the mat, the cat sat on the hat; ünïcödé too"
    bpe = ByteBPETokenizer.train(text * 3, vocab_size=280)
    ids = bpe.encode(text)
    assert len(ids) < len(text)  # merged tokens: bits per token and per character differ
    spelled, scored = scored_characters(bpe, ids)
    assert spelled == len(text) and scored == len(text) - len(bpe.decode(ids[:1]))
