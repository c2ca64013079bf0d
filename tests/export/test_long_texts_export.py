"""Pooled windows in the library and in the SavedModel: short texts as before, long texts = the mean (or max)
of hand-made windows' outputs, and the export in a fresh process equal to the library."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_llm.data.pooled_prediction import classify_texts
from keras_llm.data.windows import LongTexts
from keras_llm.embeddings import SentenceEmbedder
from keras_llm.export import export_sentence_embedder, export_text_classifier
from keras_llm.models.bert import BertConfig, build_bert_backbone
from keras_llm.models.bert_classifier import build_bert_classifier
from keras_llm.tokenizers import WordPieceTokenizer

WORDS = [f"w{i}" for i in range(60)]
MAX_LENGTH = 10  # 8 pieces per window; default stride 4
SHORT = ["w1 w2 w3", "", "w9"]
LONG = " ".join(WORDS[:30])  # 30 pieces: windows start at 0, 4, ..., 24 (7 windows)


@pytest.fixture(scope="module")
def tiny():
    """An untrained tiny BERT classifier and its tokenizer (one word = one piece, id 5 + word number)."""
    keras.utils.set_random_seed(3)
    tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])
    backbone = build_bert_backbone(BertConfig(vocab_size=tokenizer.vocab_size, hidden_dim=16, num_layers=1,
                                              num_heads=2, intermediate_dim=32, max_length=MAX_LENGTH))
    return build_bert_classifier(backbone, 3), backbone, tokenizer


def _hand_windows(tokenizer, starts, length=30):
    """Explicit [CLS] w_s .. w_(s+7) [SEP] rows, padded to MAX_LENGTH."""
    rows = []
    for start in starts:
        ids = [tokenizer.cls_token_id, *[5 + i for i in range(start, min(start + 8, length))], tokenizer.sep_token_id]
        rows.append(ids + [tokenizer.pad_token_id] * (MAX_LENGTH - len(ids)))
    ids = np.asarray(rows, np.int32)
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": (ids != 0).astype(np.int32)}


def _softmax(logits):
    exp = np.exp(logits - logits.max(-1, keepdims=True))
    return exp / exp.sum(-1, keepdims=True)


def test_short_texts_give_exactly_the_old_output(tiny):
    model, _, tokenizer = tiny
    old = _softmax(np.asarray(model(tokenizer.encode_batch(SHORT, max_length=MAX_LENGTH), training=False)))
    probabilities, too_long = classify_texts(model, tokenizer, SHORT, MAX_LENGTH, "windows")
    np.testing.assert_allclose(probabilities, old, rtol=0, atol=1e-7)
    assert too_long == 0


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_a_long_text_pools_the_logits_of_its_windows(tiny, pooling):
    model, _, tokenizer = tiny
    window_logits = np.asarray(model(_hand_windows(tokenizer, range(0, 25, 4)), training=False))
    pooled = window_logits.mean(0) if pooling == "mean" else window_logits.max(0)
    probabilities, too_long = classify_texts(model, tokenizer, [SHORT[0], LONG], MAX_LENGTH, "windows",
                                             pooling=pooling, batch_size=3)  # windows cross model calls
    np.testing.assert_allclose(probabilities[1], _softmax(pooled), atol=1e-6)
    assert too_long == 1
    # The cap: 3 windows spread over starts 0..22 (0, 11, 22).
    capped, _ = classify_texts(model, tokenizer, [LONG], MAX_LENGTH, "windows", pooling=pooling, max_windows=3)
    capped_logits = np.asarray(model(_hand_windows(tokenizer, (0, 11, 22)), training=False))
    expected = capped_logits.mean(0) if pooling == "mean" else capped_logits.max(0)
    np.testing.assert_allclose(capped[0], _softmax(expected), atol=1e-6)


def test_embeddings_of_a_long_text_are_the_normalised_mean_of_its_windows(tiny):
    _, backbone, tokenizer = tiny
    embedder = SentenceEmbedder(backbone, tokenizer, max_length=MAX_LENGTH)
    old = SentenceEmbedder(backbone, tokenizer, max_length=MAX_LENGTH, long_texts="truncate")
    vectors = embedder.embed([*SHORT, LONG])
    np.testing.assert_allclose(vectors[:3], old.embed(SHORT), rtol=0, atol=1e-7)
    assert embedder.longer_than_context == 1
    windows = _hand_windows(tokenizer, range(0, 25, 4))
    hidden = np.asarray(backbone(windows, training=False)["sequence_output"])
    mask = windows["padding_mask"][..., None]
    each = (hidden * mask).sum(1) / mask.sum(1)
    each /= np.linalg.norm(each, axis=-1, keepdims=True)
    expected = each.mean(0) / np.linalg.norm(each.mean(0))
    np.testing.assert_allclose(vectors[3], expected, atol=1e-6)


FRESH = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  registers the tf-text ops the graph uses
texts = json.loads(sys.argv[3])
out = {}
for name, path in (("classifier", sys.argv[1]), ("embedder", sys.argv[2])):
    serve = tf.saved_model.load(path).signatures["serving_default"]
    result = serve(texts=tf.constant(texts, tf.string))
    out[name] = {key: (value.numpy().tolist() if value.dtype != tf.string else [v.decode() for v in value.numpy()])
                 for key, value in result.items()}
out["empty"] = tf.saved_model.load(sys.argv[1]).signatures["serving_default"](
    texts=tf.constant([], tf.string))["probabilities"].shape.as_list()
out["keras_llm"] = any(m.startswith("keras_llm") for m in sys.modules)
print(json.dumps(out))
"""


@pytest.mark.slow  # default-suite budget (2026-11-30): other exports are checked in fresh processes by default
def test_savedmodels_in_a_fresh_process_equal_the_library(tiny, tmp_path):
    model, backbone, tokenizer = tiny
    settings = LongTexts(pooling="max", stride=3, max_windows=5)
    classifier = export_text_classifier(model, tokenizer, ["a", "b", "c"], MAX_LENGTH, base_dir=str(tmp_path),
                                        name="clf", long_texts=settings)
    embedder_path = export_sentence_embedder(backbone, tokenizer, MAX_LENGTH, base_dir=str(tmp_path), name="emb",
                                             long_texts=settings)
    texts = [*SHORT, LONG, " ".join(WORDS) * 20]  # the last one: 1,200 pieces, past the cap
    result = subprocess.run([sys.executable, "-c", FRESH, classifier, embedder_path, json.dumps(texts)],
                            capture_output=True, text=True, timeout=300, check=True)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert not out["keras_llm"] and out["empty"] == [0, 3]
    probabilities, too_long = classify_texts(model, tokenizer, texts, MAX_LENGTH, settings)
    assert too_long == 2
    np.testing.assert_allclose(out["classifier"]["probabilities"], probabilities, atol=1e-6)
    assert out["classifier"]["labels"] == [["a", "b", "c"][i] for i in probabilities.argmax(-1)]
    vectors = SentenceEmbedder(backbone, tokenizer, MAX_LENGTH, long_texts=settings).embed(texts)
    np.testing.assert_allclose(out["embedder"]["embeddings"], vectors, atol=1e-6)
    # What a client sees without windows would differ for the long texts.
    truncated, _ = classify_texts(model, tokenizer, texts, MAX_LENGTH, "truncate")
    assert np.abs(truncated[3:] - probabilities[3:]).max() > 1e-4


def test_the_savedmodel_graph_cuts_windows_in_tf_ops(tiny):
    model, _, tokenizer = tiny
    from keras_llm.export.classifier import TextClassifierModule

    module = TextClassifierModule(model, tokenizer, ["a", "b", "c"], MAX_LENGTH)  # kept: tf.function binds weakly
    graph = module.serve.get_concrete_function().graph
    ops = {op.type for op in graph.get_operations()}
    assert {"RaggedRange", "UnsortedSegmentSum"} <= ops, sorted(ops)
    assert not any("PyFunc" in op for op in ops)
