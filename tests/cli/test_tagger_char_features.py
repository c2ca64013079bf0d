"""Char CNN word features of the BiLSTM tagger, through `keras-llm train/evaluate/tag/export`.

The data make the characters necessary: a word's tag is its shape (Capitalised, lowercase,
digits, lowercase ending in "ly"), words come in random order (no context), and the recipe's
WordPiece vocabulary is lowercased, so "Brag" and "brag" are the same pieces. A tagger reading
pieces only cannot tell them apart (at most 0.5 on those pairs); with characters it tags unseen
words by their shape.
"""

import json
import random
import string

import numpy as np
import pytest
import tensorflow as tf

from keras_llm.data.word_characters import CharSpec, char_ids_at_first_pieces
from keras_llm.errors import UserInputError
from keras_llm.export.op_check import check_saved_model_ops, format_report
from keras_llm.layers.char_features import CharCNNWordFeatures
from keras_llm.models.token_classifier import TokenClassifierConfig
from keras_llm.runs.tagger import train_tagger_run
from tests.conftest import run_cli


def _stems(count, rng):
    return ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 7))) for _ in range(count)]


def _shaped(stem, shape, rng):
    return {"CAP": stem.capitalize(), "LOW": stem, "ADV": stem + "ly",
            "NUM": str(rng.randint(10, 99999))}[shape]


def _sentences(stems, count, rng):
    sentences = []
    for _ in range(count):
        shapes = [rng.choice(["CAP", "LOW", "ADV", "NUM"]) for _ in range(6)]
        sentences.append([(_shaped(rng.choice(stems), shape, rng), shape) for shape in shapes])
    return sentences


def _write(path, sentences):
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def char_run(tmp_path_factory):
    folder, rng = tmp_path_factory.mktemp("char_tagger"), random.Random(7)
    stems = _stems(120, rng)
    train_stems, unseen = stems[:80], stems[80:]
    # 480 sentences, batch 8, 4 epochs: 240 steps (the characters were learnt after ~180 in a trial)
    _write(folder / "train.tsv", _sentences(train_stems, 480, rng))
    _write(folder / "valid.tsv", _sentences(train_stems, 20, rng))
    # Every unseen stem both Capitalised and lowercase: identical word pieces, different tags.
    _write(folder / "unseen.tsv", [[(s.capitalize(), "CAP"), (s, "LOW"), (s + "ly", "ADV")] for s in unseen])
    # The recipe as shipped (char features on), trained in-process: the commands under test are
    # evaluate/tag/export, and `train` has its own tests.
    train_tagger_run("bilstm-pos-ewt", run_dir=str(folder / "run"), train_file=str(folder / "train.tsv"),
                     valid_file=str(folder / "valid.tsv"), verbose=0, log=lambda message: None,
                     training_overrides=dict(epochs=4, batch_size=8, max_length=32, learning_rate=1e-2),
                     model_overrides=dict(units=16))
    return folder


def test_unseen_words_are_tagged_by_their_shape(char_run):
    info = json.loads((char_run / "run" / "run.json").read_text())
    assert info["model_config"]["char_features"] is True
    completed = run_cli("evaluate", char_run / "run", "--test", char_run / "unseen.tsv", "--output-dir",
                        char_run / "eval")
    assert completed.returncode == 0, completed.stderr[-3000:]
    metrics = json.loads((char_run / "eval" / "metrics.json").read_text())
    # CAP vs LOW is decidable from the characters only (the pieces are lowercased): a piece-only
    # tagger scores at most 0.5 on each of the two.
    assert metrics["per_tag"]["CAP"]["f1"] > 0.9 and metrics["per_tag"]["LOW"]["f1"] > 0.9, metrics["per_tag"]
    assert metrics["accuracy"] > 0.9


@pytest.mark.slow  # two more console-script runs and a SavedModel export (~30 s)
def test_exported_saved_model_reads_characters_and_tags_like_the_tag_command(char_run):
    texts = ["Zorbu zorbu 4711 zorbuly", "Qwerty"]
    tagged = run_cli("tag", char_run / "run", *[arg for text in texts for arg in ("--text", text)])
    assert tagged.returncode == 0, tagged.stderr[-3000:]
    expected = [[line.split("\t")[:2] for line in block.splitlines()] for block in tagged.stdout.split("\n\n")[:2]]
    assert [tag for _, tag in expected[0]] == ["CAP", "LOW", "NUM", "ADV"] and expected[1][0][1] == "CAP"
    exported = run_cli("export", char_run / "run", "--base-dir", char_run / "saved", "--name", "chars")
    assert exported.returncode == 0, exported.stderr[-3000:]
    path = str(char_run / "saved" / "chars" / "1")
    report = check_saved_model_ops(path)
    assert report.ok, format_report(report)  # the character ids are core TF ops: TF Serving loads it
    out = tf.saved_model.load(path).signatures["serving_default"](texts=tf.constant(texts))
    for row, words_and_tags in enumerate(expected):
        n = int(out["lengths"][row])
        assert [[w.decode(), t.decode()] for w, t in zip(out["tokens"][row][:n].numpy(), out["tags"][row][:n].numpy())
                ] == words_and_tags


def test_char_ids_sit_at_first_pieces_and_pad_to_zero_features():
    words = tf.ragged.constant([["Hi", "yes"], ["ok"]])
    first_piece = tf.ragged.constant([[1, 3], [1]])  # as if "Hi" were two pieces: "yes" starts at 3
    word_mask = tf.ragged.constant([[1, 1], [0]])  # "ok" was truncated away: no characters anywhere
    ids = char_ids_at_first_pieces(words, first_piece, word_mask, 5, CharSpec(max_word_chars=3)).numpy()
    assert ids.shape == (2, 5, 3)
    np.testing.assert_array_equal(ids[0, 1], [1 + ord("H"), 1 + ord("i"), 0])
    np.testing.assert_array_equal(ids[0, 3], [1 + ord("y"), 1 + ord("e"), 1 + ord("s")])
    assert ids[0, [0, 2, 4]].sum() == 0 and ids[1].sum() == 0
    layer = CharCNNWordFeatures(char_vocab_size=512, char_dim=4, filters=6, max_word_chars=3)
    features = layer(ids).numpy()
    assert features.shape == (2, 5, 6) and not features[0, [0, 2, 4]].any() and not features[1].any()
    # Padding characters never win the max: "Hi" pools the same with or without its padding slot counted.
    convolved = layer.convolution(layer.embedding(ids[0, 1:2])).numpy()[0]
    np.testing.assert_allclose(features[0, 1], np.maximum(convolved[:2].max(axis=0), 0), atol=1e-6)


def test_char_features_refused_for_a_bert_tagger():
    with pytest.raises(UserInputError, match="only the bilstm backbone reads characters"):
        TokenClassifierConfig(num_tags=3, vocab_size=10, backbone="bert", char_features=True)
