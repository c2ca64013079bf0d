"""load_hf_gpt2 against PyTorch + transformers (tests/fixtures/gpt2, from tools/make_gpt2_fixtures.py).

The fixture is a 2-layer, 64-wide GPT-2 with random weights and GPT-2's real 50,257-token vocabulary;
transformers' GPT2TokenizerFast gave the ids and GPT2LMHeadModel the logits of 15 texts (contractions,
Unicode spaces and letters, emoji, NUL, special tokens, invalid UTF-8, code, an empty text).
"""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from keras_llm.checkpoints import gpt2_config_from_hf, load_hf_gpt2
from keras_llm.errors import UserInputError
from keras_llm.models import parameter_count
from keras_llm.tokenizers import GPT2Tokenizer, load_tokenizer
from tests.checkpoints.gpt2_fixture import FIXTURE, HF_FILES, make_gpt2_directory, reference

LOGIT_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    return make_gpt2_directory(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="module")
def loaded(gpt2_dir):
    return load_hf_gpt2(str(gpt2_dir))


def _logits(model, ids):
    return model(np.array([ids], np.int32), training=False).numpy()[0]


def _assert_matches_pytorch(model):
    texts, ids = reference()
    stored = np.load(FIXTURE / "logits.npz")
    checked = 0
    for index, token_ids in enumerate(ids):
        if not token_ids:
            continue
        logits = _logits(model, token_ids)
        columns = stored[f"text_{index}_columns"]
        np.testing.assert_allclose(logits[:, columns], stored[f"text_{index}_logits"], rtol=0, atol=LOGIT_TOLERANCE)
        np.testing.assert_allclose(tf.reduce_logsumexp(logits, axis=-1).numpy(), stored[f"text_{index}_logsumexp"],
                                   rtol=0, atol=LOGIT_TOLERANCE)
        np.testing.assert_array_equal(logits.argmax(-1), stored[f"text_{index}_argmax"])
        checked += len(token_ids)
    assert checked > 300


def test_token_ids_equal_transformers(loaded):
    _, tokenizer = loaded
    texts, ids = reference()
    assert isinstance(tokenizer, GPT2Tokenizer) and tokenizer.vocab_size == 50257
    assert tokenizer.tokenize(tf.constant(texts)).to_list() == ids
    assert tokenizer.end_token_id == 50256


def test_logits_equal_pytorch(loaded):
    model, _ = loaded
    _assert_matches_pytorch(model)


def test_the_real_gpt2_layout_loads_the_same(tmp_path):
    # Names without "transformer." and the causal-mask buffers, as in the real gpt2 directory.
    model, _ = load_hf_gpt2(str(make_gpt2_directory(tmp_path / "gpt2", layout="gpt2")))
    _assert_matches_pytorch(model)


def test_config_is_gpt2_exactly(gpt2_dir, loaded):
    config = gpt2_config_from_hf(str(gpt2_dir))
    assert (config.activation, config.layer_norm_epsilon, config.vocab_size, config.max_length) == \
        ("gelu_tanh", 1e-5, 50257, 128)
    assert config.tie_weights and config.intermediate_dim == 256
    # 50,257 x 64 token table (tied head) + 128 x 64 positions + 2 blocks + final norm, as in PyTorch
    assert parameter_count(loaded[0]) == 50257 * 64 + 128 * 64 + 2 * (12 * 64 * 64 + 13 * 64) + 2 * 64


def test_tokenizer_saves_and_loads(loaded, tmp_path):
    _, tokenizer = loaded
    tokenizer.save(tmp_path / "tok")
    again = load_tokenizer(tmp_path / "tok")
    texts, ids = reference()
    assert type(again) is GPT2Tokenizer
    assert again.tokenize(tf.constant(texts)).to_list() == ids
    assert again.decode(ids[0]) == texts[0].decode()


def _copy(gpt2_dir, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(gpt2_dir, target)
    return target


@pytest.mark.parametrize("damage, fragment", [
    (lambda d: (d / "merges.txt").unlink(), "no merges.txt"),
    (lambda d: (d / "config.json").write_text(json.dumps({"model_type": "bert"})), "not GPT-2"),
    (lambda d: (d / "config.json").write_text(json.dumps(
        {**json.loads((FIXTURE / "config.json").read_text()), "n_layer": 3})), "has 2 blocks, config.json says 3"),
    (lambda d: (d / "config.json").write_text(json.dumps(
        {**json.loads((FIXTURE / "config.json").read_text()), "activation_function": "silu"})), "activation"),
    (lambda d: (d / "model.safetensors").rename(d / "pytorch_model.bin"), "refusing to load pytorch_model.bin"),
    (lambda d: (d / "vocab.json").write_text("{"), "vocab.json is not valid JSON"),
])
def test_bad_directories_are_refused_in_one_message(gpt2_dir, tmp_path, damage, fragment):
    directory = _copy(gpt2_dir, tmp_path)
    damage(directory)
    with pytest.raises(UserInputError, match=fragment):
        load_hf_gpt2(str(directory))


def test_every_file_is_needed(gpt2_dir, tmp_path):
    for name in (*HF_FILES, "model.safetensors"):
        directory = _copy(gpt2_dir, tmp_path / name)
        (directory / name).unlink()
        with pytest.raises(UserInputError, match=f"no {name}"):
            load_hf_gpt2(str(directory))
