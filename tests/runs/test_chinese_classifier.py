"""Chinese text through the WordPiece tokenizer and a BERT classifier trained from scratch."""

import csv
from pathlib import Path

import numpy as np
import pytest

from keras_llm.runs.classifier import train_classifier_run
from keras_llm.tokenizers import WordPieceTokenizer

DATA = Path(__file__).resolve().parents[2] / "data" / "cmn_eng" / "cmn.txt"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PER_CLASS = 300


def _chinese_sentences():
    with open(DATA, encoding="utf-8") as handle:
        return [line.split("\t")[1] for line in handle if line.count("\t") >= 2]


def test_cjk_is_split_into_characters_and_joined_without_spaces():
    # "我爱" and "北京" are in the vocabulary, yet BERT puts spaces around every CJK
    # ideograph before WordPiece, so they can never be matched as one piece.
    vocabulary = SPECIALS + ["我", "爱", "北", "京", "我爱", "北京", "。", "hello", "##s"]
    tokenizer = WordPieceTokenizer(vocabulary)
    ids = tokenizer.tokenize(["我爱北京。", "hellos 我爱"]).to_list()
    tokens = [[vocabulary[i] for i in row] for row in ids]
    assert tokens == [["我", "爱", "北", "京", "。"], ["hello", "##s", "我", "爱"]]
    assert [t.decode() for t in tokenizer.detokenize(ids).numpy()] == ["我爱北京 。", "hellos 我爱"]
    assert tokenizer.detokenize(ids[0][:4]).numpy().decode() == "我爱北京"
    # A trained vocabulary on real sentences also keeps ideographs single.
    trained = WordPieceTokenizer.train(_chinese_sentences()[:2000], vocab_size=800)
    cjk = [token for token in trained.vocabulary if any("\u4e00" <= c <= "\u9fff" for c in token)]
    assert cjk and all(len(token.removeprefix("##")) == 1 for token in cjk)


@pytest.fixture(scope="module")
def chinese_csv(tmp_path_factory):
    """Class "wo": sentences with 我 (I/me); class "ni": with 你 (you) but no 我."""
    sentences = _chinese_sentences()
    rng = np.random.default_rng(0)
    wo = [s for s in sentences if "我" in s]
    ni = [s for s in sentences if "你" in s and "我" not in s]
    rows = [(s, "wo") for s in rng.choice(wo, PER_CLASS, replace=False)] + \
        [(s, "ni") for s in rng.choice(ni, PER_CLASS, replace=False)]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    path = tmp_path_factory.mktemp("chinese") / "wo_ni.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_bert_classifier_learns_chinese_from_scratch(chinese_csv, tmp_path):
    run_dir, history = train_classifier_run(
        "bert-classifier", run_dir=str(tmp_path / "run"), train_file=str(chinese_csv),
        training_overrides=dict(epochs=4, batch_size=32, learning_rate=2e-3, warmup_steps=10, max_length=24,
                                patience=4, jit_compile=False),
        verbose=0, log=lambda message: None)
    val_accuracy = history.history["val_accuracy"]
    assert max(val_accuracy) >= 0.85, val_accuracy  # chance is 0.5
