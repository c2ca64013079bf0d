"""Sizes to a parameter budget: counts are those of built models, and sizes land within a quarter."""

import pytest

from keras_llm.experiments import lm_sizing
from keras_llm.models import build_gpt, build_rnn_lm


@pytest.mark.parametrize("vocab, length, d, layers", [(65, 64, 128, 4), (33, 16, 48, 2), (512, 32, 96, 3)])
def test_gpt_count_is_that_of_the_built_model(vocab, length, d, layers):
    model = build_gpt(lm_sizing.gpt_config(vocab, length, d, layers))
    assert lm_sizing.gpt_parameter_count(vocab, length, d, layers) == model.count_params()
    assert lm_sizing.gpt_parameter_table(vocab, length)[(d, layers)] == model.count_params()


@pytest.mark.parametrize("cell, vocab, embedding_dim, units", [("lstm", 40, 16, 24), ("gru", 40, 16, 24),
                                                               ("lstm", 65, 64, 200), ("gru", 300, 128, 96)])
def test_rnn_count_is_that_of_the_built_model(cell, vocab, embedding_dim, units):
    model = build_rnn_lm(vocab, cell=cell, num_layers=2, units=units, embedding_dim=embedding_dim)
    assert lm_sizing.rnn_parameter_count(cell, vocab, embedding_dim, units) == model.count_params()
    assert lm_sizing.rnn_parameter_table(cell, vocab)[(embedding_dim, units)] == model.count_params()


def test_sizes_land_within_a_quarter_of_the_target():
    assert lm_sizing.choose_gpt(800_000, 65, 64) == {"max_length": 64, "num_layers": 4, "num_heads": 4,
                                                     "hidden_dim": 128}
    for target, vocab in ((800_000, 65), (3_000_000, 512), (800_000, 8000)):
        shape = lm_sizing.choose_gpt(target, vocab, 64)
        count = lm_sizing.gpt_parameter_count(vocab, 64, shape["hidden_dim"], shape["num_layers"])
        assert abs(count - target) <= 0.25 * target
        for cell in ("lstm", "gru"):
            rnn = lm_sizing.choose_rnn(cell, target, vocab)
            count = lm_sizing.rnn_parameter_count(cell, vocab, rnn["embedding_dim"], rnn["units"])
            assert abs(count - target) <= 0.25 * target, (cell, target, vocab, rnn)


def test_default_sizes_match_the_baby_gpt():
    gpt = lm_sizing.neural_config("gpt", 65, 64, None)
    assert (gpt.num_layers, gpt.num_heads, gpt.hidden_dim, gpt.dropout) == (4, 4, 128, 0.0)
    baby = lm_sizing.built_parameter_count(gpt)
    lstm = lm_sizing.neural_config("lstm", 65, 64, None)
    assert lstm.cell == "lstm" and abs(lm_sizing.built_parameter_count(lstm) - baby) <= 0.25 * baby
