"""DecodingOptions (checks, one greedy encoding), the one compiled-function cache, the one beam core."""

import gc
import math
import weakref

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.generation import DecodingOptions, beam_core, compiled_function, select_next_token, seq2seq_search
from keras_llm.generation import beam_search as gpt_beam_search
from keras_llm.generation.options import stop_token_ids
from keras_llm.models import GPTConfig, build_gpt


def tiny_gpt(seed=0):
    keras.utils.set_random_seed(seed)
    return build_gpt(GPTConfig(vocab_size=12, max_length=8, num_layers=1, num_heads=2, hidden_dim=8))


@pytest.mark.parametrize("bad", [
    dict(temperature=0), dict(temperature=0.0), dict(temperature=None), dict(temperature=-1.0),
    dict(temperature=math.nan), dict(temperature=math.inf), dict(temperature="1"),
    dict(top_p=0.0), dict(top_p=1.5), dict(top_p=math.nan), dict(top_p=-math.inf),
    dict(top_k=-1), dict(top_k=2.5), dict(top_k=True),
    dict(max_new_tokens=-1), dict(max_new_tokens=3.0), dict(max_new_tokens=math.nan),
    dict(num_beams=0), dict(num_beams=-2), dict(num_beams=1.5),
    dict(length_penalty=math.nan), dict(length_penalty=math.inf), dict(length_penalty=-math.inf),
    dict(strategy="beam"), dict(strategy=None), dict(seed=1.5), dict(stop_tokens="\n"),
])
def test_bad_values_are_rejected_with_one_line(bad):
    with pytest.raises(UserInputError) as error:
        DecodingOptions(**bad)
    assert "\n" not in str(error.value) and next(iter(bad)) in str(error.value)


def test_good_values_and_replace():
    options = DecodingOptions(strategy="sample", max_new_tokens=0, temperature=1e-3, top_k=np.int64(5), top_p=1.0,
                              seed=-3, num_beams=2, length_penalty=-0.5, stop_tokens=["\n", 4])
    assert options.stop_tokens == ("\n", 4) and not options.greedy
    assert options.replace(strategy="greedy").greedy and options.replace(strategy="greedy").top_k == 5
    with pytest.raises(UserInputError, match="top_p"):
        options.replace(top_p=0)
    assert DecodingOptions(max_new_tokens=None).max_new_tokens is None
    assert hash(DecodingOptions()) == hash(DecodingOptions())  # frozen: usable as a key


def test_tensors_are_taken_as_they_are_inside_graphs():
    options = DecodingOptions(strategy="sample", max_new_tokens=tf.constant(3), temperature=tf.constant(0.5),
                              top_k=tf.constant(2), seed=tf.constant(1), length_penalty=tf.constant(1.0))
    assert tf.is_tensor(options.temperature)


def test_greedy_is_spelled_one_way():
    assert DecodingOptions().greedy and DecodingOptions().strategy == "greedy"
    for temperature in (0, 0.0, None):
        with pytest.raises(UserInputError, match="temperature"):
            DecodingOptions(strategy="greedy", temperature=temperature)
    logits = tf.constant([[0.0, 3.0, 1.0], [2.0, 0.0, 1.5]])
    # The greedy strategy ignores every sampling knob; sampling never falls back to the argmax on its own.
    for options in (DecodingOptions(), DecodingOptions(temperature=1e-3, top_k=1, top_p=0.1)):
        assert select_next_token(logits, options).numpy().tolist() == [1, 0]
    hot = DecodingOptions(strategy="sample", temperature=100.0)
    draws = {tuple(select_next_token(logits, hot, seed=(s, 0)).numpy()) for s in range(30)}
    assert len(draws) > 1


def test_old_positional_arguments_get_a_plain_error():
    from keras_llm.generation import beam_generate, generate, translate

    for call in (lambda: generate(None, None, "x", 5), lambda: beam_generate(None, None, "x", 5),
                 lambda: translate(None, None, None, "x", 5)):
        with pytest.raises(TypeError, match="DecodingOptions"):
            call()


def test_stop_token_ids():
    assert stop_token_ids(DecodingOptions(stop_tokens=[3, 5])).numpy().tolist() == [3, 5]
    assert stop_token_ids(DecodingOptions()).shape == (0,)
    with pytest.raises(UserInputError, match="single token"):
        stop_token_ids(DecodingOptions(stop_tokens=["x"]))  # strings need a tokenizer


def test_compiled_cache_is_per_model_and_static_options():
    first, second = tiny_gpt(1), tiny_gpt(2)
    made = []

    def make():
        made.append(1)
        return tf.function(lambda x: x + len(made))

    one = compiled_function(first, "kind", (8, "greedy", True), make)
    assert compiled_function(first, "kind", (8, "greedy", True), make) is one
    assert compiled_function(first, "kind", (9, "greedy", True), make) is not one
    assert compiled_function(first, "other", (8, "greedy", True), make) is not one
    assert compiled_function(second, "kind", (8, "greedy", True), make) is not one
    assert len(made) == 4


def test_generation_reuses_one_compiled_function_per_model_and_options():
    from keras_llm.generation import beam_generate, generate
    from keras_llm.generation.compiled import _ATTRIBUTE
    from keras_llm.tokenizers import CharTokenizer

    tokenizer = CharTokenizer.train("abcdefghij")
    first, second = tiny_gpt(1), tiny_gpt(2)
    options = DecodingOptions(max_new_tokens=3)
    generate(first, tokenizer, "ab", options)
    generate(first, tokenizer, "abc", options.replace(strategy="sample", seed=1))
    generate(first, tokenizer, "abc", options.replace(strategy="sample", seed=2, temperature=0.5))
    beam_generate(first, tokenizer, "ab", options.replace(num_beams=2))
    functions = first.__dict__[_ATTRIBUTE]
    assert sorted(functions) == [("gpt_beam", (3, 2)), ("gpt_decode", (3, "greedy", True)),
                                 ("gpt_decode", (3, "sample", True))]
    generate(second, tokenizer, "ab", options)
    assert second.__dict__[_ATTRIBUTE][("gpt_decode", (3, "greedy", True))] is not functions[
        ("gpt_decode", (3, "greedy", True))]


def test_compiled_functions_go_with_their_model():
    from keras_llm.generation import generate
    from keras_llm.tokenizers import CharTokenizer

    tokenizer = CharTokenizer.train("abcdefghij")
    model = tiny_gpt(3)
    generate(model, tokenizer, "ab", DecodingOptions(max_new_tokens=2))
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_one_beam_core_for_gpt_and_seq2seq():
    assert gpt_beam_search.beam_search is beam_core.beam_search
    assert seq2seq_search.beam_search is beam_core.beam_search
    # Neither model module keeps a loop body or argument checks of its own.
    for module in (gpt_beam_search, seq2seq_search):
        assert not hasattr(module, "_NEG_INF") and not hasattr(module, "_keep_shapes")


def test_a_temperature_beyond_float32_is_refused():
    with pytest.raises(UserInputError, match="temperature must be finite"):
        DecodingOptions(strategy="sample", temperature=3.4028235677973366e38)
