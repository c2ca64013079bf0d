"""Seq2seq decoding: cached == uncached greedy, one beam == greedy, exhaustive beams, XLA == eager."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_llm.errors import UserInputError
from keras_llm.generation import DecodingOptions
from keras_llm.generation.seq2seq_search import translate_ids
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer

START, END = 2, 3
SOURCES = np.array([[5, 6, 7, 8, 9, 0], [4, 0, 0, 0, 0, 0], [9, 8, 7, 6, 5, 4]], dtype="int32")


def tiny_model(target_vocabulary_size=13, seed=3, source_vocabulary_size=11, **options):
    keras.utils.set_random_seed(seed)
    config = Seq2SeqConfig(source_vocabulary_size=source_vocabulary_size, target_vocabulary_size=target_vocabulary_size,
                           num_encoder_layers=1, num_decoder_layers=2, num_heads=2, hidden_dim=16,
                           max_source_length=6, max_target_length=8, dropout=0.0, **options)
    model = build_seq2seq_transformer(config)
    # A random model is nearly uniform; sharper logits keep scores far from ties.
    if config.norm_first:
        norm = model.get_layer("decoder_final_norm")
        norm.gamma.assign(norm.gamma * 6.0)
    return model


def opts(max_new_tokens, num_beams=1, **options):
    return DecodingOptions(max_new_tokens=max_new_tokens, num_beams=num_beams, **options)


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def log_probs(model, sources, decoder_ids):
    """float64 log-probs of the full model, with padding and the start token banned (as decoding does)."""
    logits = model({"encoder_token_ids": sources, "decoder_token_ids": decoder_ids}).numpy().astype("float64")
    logits[..., [0, START]] = -np.inf
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


@pytest.mark.parametrize("norm_first", [True, False])
def test_cached_greedy_equals_uncached(norm_first):
    model = tiny_model(norm_first=norm_first)
    cached = translate_ids(model, SOURCES, opts(8), START, END).numpy()
    uncached = translate_ids(model, SOURCES, opts(8), START, END, use_cache=False).numpy()
    np.testing.assert_array_equal(cached, uncached)
    assert cached.shape == (3, 8) and cached.dtype == np.int32
    # The greedy tokens really are the argmax of a full forward pass on [start] + prefix.
    row = cached[0][cached[0] > 0].tolist()
    decoder_ids = np.array([[START] + row[:-1]], dtype="int32")
    argmax = log_probs(model, SOURCES[:1], decoder_ids)[0].argmax(-1).tolist()
    assert len(row) > 1 and argmax == row


def test_end_token_stops_and_pads():
    model = tiny_model(seed=5)
    free = translate_ids(model, SOURCES, opts(8), START, end_id=1).numpy()  # id 1 as "end": rarely chosen
    first = int(free[0, 2])
    stopped = translate_ids(model, SOURCES[:1], opts(8), START, end_id=first).numpy()[0]
    cut = free[0].tolist().index(first)
    assert stopped[:cut].tolist() == free[0, :cut].tolist() and not stopped[cut:].any()


def test_one_beam_is_greedy_and_batching_is_independent(model):
    greedy = translate_ids(model, SOURCES, opts(7), START, END).numpy()
    np.testing.assert_array_equal(translate_ids(model, SOURCES, opts(7, num_beams=1), START, END), greedy)
    beams = translate_ids(model, SOURCES, opts(7, num_beams=3), START, END).numpy()
    for index in range(len(SOURCES)):
        alone = translate_ids(model, SOURCES[index:index + 1, :5 if index == 1 else 6], opts(7, 3), START, END)
        np.testing.assert_array_equal(alone[0], beams[index])


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_wide_beam_finds_the_exhaustive_best(length_penalty):
    """With 5 allowed tokens, 3 steps and 16 beams nothing is pruned, so beam search is exhaustive."""
    model = tiny_model(target_vocabulary_size=7, seed=11)
    source = SOURCES[:1]
    words = [1, 4, 5, 6]  # every id except padding, start and end
    hypotheses = [list(p) + [END] for k in range(3) for p in itertools.product(words, repeat=k)]
    hypotheses += [list(p) for p in itertools.product(words, repeat=3)]
    decoder_ids = np.array([[START] + h[:-1] + [0] * (3 - len(h)) for h in hypotheses], dtype="int32")
    table = log_probs(model, np.repeat(source, len(hypotheses), 0), decoder_ids)
    ranked = [sum(table[i, t, token] for t, token in enumerate(h)) / len(h) ** length_penalty
              for i, h in enumerate(hypotheses)]
    order = np.argsort(ranked)[::-1]
    assert ranked[order[0]] - ranked[order[1]] > 1e-4  # no tie, so the answer is unique
    best = [token for token in hypotheses[order[0]] if token != END]
    found = translate_ids(model, source, opts(3, 16, length_penalty=length_penalty), START, END).numpy()[0]
    assert found.tolist() == best + [0] * (3 - len(best))


def test_xla_and_tf_function_equal_eager(model):
    eager_greedy = translate_ids(model, SOURCES, opts(6), START, END)
    eager_beam = translate_ids(model, SOURCES, opts(6, 3, length_penalty=0.6), START, END)

    @tf.function(jit_compile=True)
    def compiled(source_ids, length_penalty):
        return (translate_ids(model, source_ids, opts(6), START, END),
                translate_ids(model, source_ids, opts(6, 3, length_penalty=length_penalty), START, END))

    xla_greedy, xla_beam = compiled(tf.constant(SOURCES), tf.constant(0.6))
    np.testing.assert_array_equal(xla_greedy, eager_greedy)
    np.testing.assert_array_equal(xla_beam, eager_beam)
    # Unknown batch and source length, as in a SavedModel signature.
    graph = tf.function(lambda s: translate_ids(model, s, opts(6, 2), START, END),
                        input_signature=[tf.TensorSpec((None, None), tf.int32)])
    np.testing.assert_array_equal(graph(tf.constant(SOURCES)), translate_ids(model, SOURCES, opts(6, 2), START, END))


def test_long_sources_are_truncated(model):
    longer = np.concatenate([SOURCES, np.full((3, 4), 7, "int32")], axis=1)
    np.testing.assert_array_equal(translate_ids(model, longer, opts(5), START, END),
                                  translate_ids(model, SOURCES, opts(5), START, END))


@pytest.mark.parametrize("bad", [dict(max_new_tokens=9), dict(num_beams=0), dict(max_new_tokens=-1),
                                 dict(num_beams=2, use_cache=False), dict(strategy="sample")])
def test_bad_arguments(model, bad):
    use_cache = bad.pop("use_cache", True)
    with pytest.raises(UserInputError):
        translate_ids(model, SOURCES, DecodingOptions(**{"max_new_tokens": 4, **bad}), START, END, use_cache=use_cache)


def test_translate_text_and_a_string_signature():
    from keras_llm.data.pairs import train_pair_tokenizers
    from keras_llm.generation.seq2seq_search import translate

    source_tok, target_tok = train_pair_tokenizers(["I am cold .", "we like tea"] * 3, ["tengo frío", "té"] * 3,
                                                   40, 40)
    model = tiny_model(target_vocabulary_size=target_tok.vocab_size, seed=2,
                       source_vocabulary_size=source_tok.vocab_size)
    texts = ["I am cold.", "we like tea and tea and tea and tea"]  # the second is cut to 6 tokens
    two_beams = DecodingOptions(max_new_tokens=None, num_beams=2)
    out = translate(model, source_tok, target_tok, texts, two_beams)
    ids = translate_ids(model, source_tok.tokenize(texts).to_tensor(0), opts(7, 2), START, END)
    assert out == [t.decode() for t in target_tok.detokenize(ids).numpy()]
    assert translate(model, source_tok, target_tok, "I am cold.", two_beams) == out[0]
    assert translate(model, source_tok, target_tok, ["", "I am cold."], two_beams) == ["", out[0]]
    assert translate(model, source_tok, target_tok, []) == []

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.string)])
    def serve(strings):
        return target_tok.detokenize(translate_ids(model, source_tok.tokenize(strings).to_tensor(0), opts(7), START,
                                                   END))

    assert [t.decode() for t in serve(tf.constant(texts)).numpy()] == translate(model, source_tok, target_tok, texts)
