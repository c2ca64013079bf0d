"""Training a tiny translator: loss falls, BLEU/chrF reach TensorBoard, metrics and loss are padding-blind."""

import itertools
import os

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from keras_llm.training.metrics import MaskedTokenAccuracy
from keras_llm.training.translation_metrics import corpus_bleu, corpus_chrf, corpus_rouge
from keras_llm.training.translator import MaskedSparseCrossEntropy

ENGLISH = ["one", "two", "three", "four", "five"]
SPANISH = ["uno", "dos", "tres", "cuatro", "cinco"]


def number_pairs():
    """'two five .' -> 'dos cinco .': a word-for-word task a tiny model learns in seconds."""
    rows = []
    for length in (1, 2, 3):
        for words in itertools.product(range(5), repeat=length):
            rows.append(" ".join(ENGLISH[w] for w in words) + " .\t" + " ".join(SPANISH[w] for w in words) + " .")
    return rows


@pytest.fixture(scope="module")
def translator_run(tmp_path_factory):
    from keras_llm.runs.translator import train_translator_run

    root = tmp_path_factory.mktemp("translator")
    pairs = root / "numbers.tsv"
    pairs.write_text("\n".join(number_pairs()) + "\n", encoding="utf-8")
    run_dir, history = train_translator_run(
        "translator", run_dir=str(root / "run"), pairs_file=str(pairs),
        training_overrides=dict(steps=80, eval_interval=40, eval_batches=2, eval_pairs=8, batch_size=16,
                                warmup_steps=10, learning_rate=3e-3, label_smoothing=0.0,
                                jit_compile=False),  # tiny: compiling costs more than it saves
        model_overrides=dict(num_encoder_layers=1, num_decoder_layers=1, hidden_dim=32, intermediate_dim=64,
                             num_heads=2, max_source_length=8, max_target_length=8, dropout=0.0),
        verbose=0, log=lambda message: None)
    return run_dir, history


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_loss_falls_and_bleu_is_logged(translator_run):
    run_dir, history = translator_run
    scores = history.history
    assert len(scores["val_loss"]) == 2
    vocabulary = len((open(os.path.join(run_dir, "target_tokenizer", "vocab.txt"), encoding="utf-8")).readlines())
    # A random model starts near ln(vocabulary); after 40 steps it is well below, and still falling.
    assert scores["val_loss"][0] < np.log(vocabulary) - 1.0, (scores["val_loss"], vocabulary)
    assert scores["val_loss"][-1] < 0.9 * scores["val_loss"][0], scores["val_loss"]
    assert scores["val_token_accuracy"][-1] > scores["val_token_accuracy"][0]
    assert 0.0 <= scores["val_bleu"][-1] <= 100.0 and len(scores["val_chrf"]) == 2
    validation = event_accumulator.EventAccumulator(os.path.join(run_dir, "logs", "validation"),
                                                    size_guidance={"tensors": 0})
    validation.Reload()
    tags = set(validation.Tags()["tensors"]) | set(validation.Tags()["scalars"])
    assert {"bleu", "chrf", "loss", "token_accuracy"} <= tags, tags
    assert [event.step for event in validation.Tensors("bleu")] == [40, 80]
    samples = event_accumulator.EventAccumulator(os.path.join(run_dir, "logs", "samples"),
                                                 size_guidance={"tensors": 0})
    samples.Reload()
    events = samples.Tensors("translations")
    assert [event.step for event in events] == [40, 80]
    assert "| source | translation | reference |" in events[-1].tensor_proto.string_val[0].decode()


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_run_loads_back_and_translates(translator_run):
    from keras_llm.generation import DecodingOptions
    from keras_llm.generation.seq2seq_search import translate
    from keras_llm.runs.translator import load_translator_run

    run_dir, _ = translator_run
    for name in ("run.json", "best.keras", "final.keras", "source_tokenizer/vocab.txt", "target_tokenizer/vocab.txt"):
        assert os.path.exists(os.path.join(run_dir, name)), name
    model, source, target, info = load_translator_run(run_dir)
    assert info["model"] == "transformer-seq2seq" and info["pair_counts"]["train"] > 100
    out = translate(model, source, target, ["two five .", "one ."], DecodingOptions(max_new_tokens=None, num_beams=2))
    assert len(out) == 2 and all(isinstance(text, str) for text in out)


def test_loss_ignores_padding_and_smooths():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 7)).astype("float32")
    labels = np.array([[3, 5, 0, 0], [4, 0, 0, 0]])
    loss = MaskedSparseCrossEntropy()
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.mean([log_probs[0, 0, 3], log_probs[0, 1, 5], log_probs[1, 0, 4]])
    np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5)
    changed = logits.copy()
    changed[labels == 0] += 5.0  # padded positions do not count
    np.testing.assert_allclose(float(loss(labels, changed)), expected, rtol=1e-5)
    smooth = MaskedSparseCrossEntropy(label_smoothing=0.1)
    real = log_probs[labels > 0]
    uniform = -real.mean(-1).mean()
    np.testing.assert_allclose(float(smooth(labels, logits)), 0.9 * expected + 0.1 * uniform, rtol=1e-5)
    assert keras.losses.deserialize(keras.losses.serialize(smooth)).label_smoothing == 0.1


def test_token_accuracy_ignores_padding():
    metric = MaskedTokenAccuracy()
    labels = np.array([[1, 2, 0], [3, 0, 0]])
    predictions = np.eye(4, dtype="float32")[[[1, 0, 0], [3, 3, 3]]]  # padding predicted wrong
    metric.update_state(labels, predictions)
    assert float(metric.result()) == pytest.approx(2 / 3)


def test_corpus_metrics():
    assert corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0)
    assert corpus_bleu(["the cat sat on the mat"], ["the cat sat on a mat"]) == pytest.approx(53.73, abs=0.01)
    # "zh" tokenizes Chinese into characters; "13a" sees one unsegmented word and scores 0.
    hyp, ref = ["我们今天去公园散步吧"], ["我们今天去公园散步"]
    assert corpus_bleu(hyp, ref, tokenize="zh") > 50 > corpus_bleu(hyp, ref)
    assert corpus_chrf(["the cat"], ["the cat"]) == pytest.approx(100.0)
    rouge = corpus_rouge(["the cat sat"], ["the cat sat down"])
    assert rouge["rouge1"] == pytest.approx(100 * 2 * 1.0 * 0.75 / 1.75)
    with pytest.raises(ValueError):
        corpus_bleu(["a"], ["a", "b"])
