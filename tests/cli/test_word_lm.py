"""Word-level language modelling through the console script: `train lstm-lm|gpt-... --tokenizer word --min-count N`,
`evaluate --test HELD_OUT` with the training vocabulary, `generate`, `export`, and `compare --valid`.

One tiny LSTM run is shared by the module. References are computed here without the code under
test: token ids from a plain split of the text and the run's saved vocabulary, perplexity from the
model run on non-overlapping windows, greedy continuations from the whole sequence re-run at each step.
"""

import json
import math
import os
import random
from collections import Counter

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_llm.models import NGramLanguageModel
from tests.conftest import assert_one_line_error, run_cli

WORDS = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "rug", "and", "saw", "bird", "big", "small"]
CONTEXT = 8


def _sentences(seed, count, extra=()):
    rng = random.Random(seed)
    words = WORDS + list(extra)
    return "".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 7))) + " .\n" for _ in range(count))


def _tokens(text):
    """The word tokenizer's tokens of text made of space-separated words, '.' and line breaks."""
    return [token for line in text.split("\n") for token in line.split() + ["\n"]][:-1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("word_lm")
    # "heron" appears once in training: below --min-count 2 it is an unknown word, as is "zebra" (never seen).
    train = _sentences(0, 120) + "the heron sat .\n"
    test = _sentences(1, 12, extra=("zebra", "heron"))
    paths = {"train": folder / "train.txt", "test": folder / "test.txt", "folder": folder}
    paths["train"].write_text(train, encoding="utf-8")
    paths["test"].write_text(test, encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def lstm_run(corpus):
    run_dir = corpus["folder"] / "lstm"
    completed = run_cli("train", "lstm-lm", "--corpus", corpus["train"], "--tokenizer", "word", "--min-count", "2",
                        "--steps", "6", "--eval-interval", "3", "--eval-batches", "1", "--batch-size", "4",
                        "--hidden-dim", "16", "--max-length", str(CONTEXT), "--run-dir", run_dir)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return run_dir


def _vocabulary(run_dir):
    with open(os.path.join(run_dir, "tokenizer", "tokenizer.json"), encoding="utf-8") as handle:
        return json.load(handle)["config"]["vocabulary"]


def _model(run_dir):
    return keras.models.load_model(os.path.join(run_dir, "best.keras"), compile=False)


def _log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    top = logits.max(axis=-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))


def test_vocabulary_is_the_training_words_seen_min_count_times(corpus, lstm_run):
    counts = Counter(_tokens(corpus["train"].read_text(encoding="utf-8")))
    kept = {token for token, count in counts.items() if count >= 2}
    vocabulary = _vocabulary(lstm_run)
    assert set(vocabulary) == kept | {"[UNK]"} and "heron" not in vocabulary
    info = json.loads((lstm_run / "run.json").read_text(encoding="utf-8"))
    assert info["model"] == "rnn_lm" and info["tokenizer"]["min_count"] == 2
    assert info["training"]["optimizer"] == "muon"  # the recipe's optimizer (docs/benchmarks.md, word-level LM)
    assert info["model_config"]["vocab_size"] == len(vocabulary) and info["sequence_length"] == CONTEXT


def test_evaluate_scores_held_out_words_with_the_training_vocabulary(corpus, lstm_run):
    out = corpus["folder"] / "evaluation"
    completed = run_cli("evaluate", lstm_run, "--test", corpus["test"], "--stride", str(CONTEXT), "--output-dir", out)
    assert completed.returncode == 0, completed.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    vocabulary = _vocabulary(lstm_run)
    index = {token: i for i, token in enumerate(vocabulary)}
    ids = np.array([index.get(token, index["[UNK]"]) for token in _tokens(corpus["test"].read_text("utf-8"))])
    assert metrics["counts"]["tokens"] == len(ids)
    assert metrics["counts"]["unknown_tokens"] == int(np.sum(ids[1:] == index["[UNK]"])) > 0
    assert "unknown words" in completed.stdout and "[UNK]" in completed.stdout
    # Reference: every token after the first, predicted within non-overlapping windows of CONTEXT tokens.
    model, total = _model(lstm_run), 0.0
    for start in range(0, len(ids) - 1, CONTEXT):
        inputs = ids[start:min(start + CONTEXT, len(ids) - 1)]
        log_probs = _log_softmax(model(inputs[None].astype("int32"))[0])
        targets = ids[start + 1:start + 1 + len(inputs)]
        total -= float(log_probs[np.arange(len(inputs)), targets].sum())
    assert metrics["perplexity"] == pytest.approx(math.exp(total / (len(ids) - 1)), rel=1e-4)
    assert metrics["bits_per_character"] is None  # [UNK] spells no characters


def _windowed_probabilities_and_states(model, ids):
    """Each token's probability and the last LSTM layer's output that predicted it, non-overlapping windows."""
    with_states = keras.Model(model.inputs[0], [model.outputs[0], model.get_layer("rnn_0").output])
    probabilities, states = [], []
    for start in range(0, len(ids) - 1, CONTEXT):
        inputs = ids[start:min(start + CONTEXT, len(ids) - 1)]
        logits, hidden = with_states(inputs[None].astype("int32"))
        targets = ids[start + 1:start + 1 + len(inputs)]
        probabilities.extend(np.exp(_log_softmax(logits[0])[np.arange(len(inputs)), targets]))
        states.extend(np.asarray(hidden[0], np.float64))
    return np.array(probabilities), np.array(states)


def test_evaluate_with_a_continuous_cache_mixes_the_model_with_recent_states(corpus, lstm_run):
    """--cache-window: the headline perplexity is the cache mixture (Grave et al.), recomputed here position by
    position with the theta and lambda the run reports; the model alone is what plain evaluate gives."""
    out = corpus["folder"] / "evaluation-cache"
    window = 20
    completed = run_cli("evaluate", lstm_run, "--test", corpus["test"], "--stride", str(CONTEXT),
                        "--cache-window", str(window), "--output-dir", out)
    assert completed.returncode == 0, completed.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    cache = metrics["cache"]
    assert cache["window"] == window and "continuous cache" in completed.stdout
    # Tuned on the run's validation text: the last 10% of the training corpus's tokens.
    train_tokens = len(_tokens(corpus["train"].read_text(encoding="utf-8")))
    assert cache["tuning_tokens"] == train_tokens - int(train_tokens * 0.9) - 1
    assert cache["tuning_perplexity_with"] <= cache["tuning_perplexity_without"]
    index = {token: i for i, token in enumerate(_vocabulary(lstm_run))}
    ids = np.array([index.get(token, index["[UNK]"]) for token in _tokens(corpus["test"].read_text("utf-8"))])
    p_model, states = _windowed_probabilities_and_states(_model(lstm_run), ids)
    assert cache["test_perplexity_without_cache"] == pytest.approx(math.exp(-np.mean(np.log(p_model))), rel=1e-4)
    nexts, total = ids[1:], -math.log(p_model[0])
    for t in range(1, len(nexts)):
        lo = max(0, t - window)
        weights = np.exp(cache["theta"] * (states[lo:t] @ states[t]))
        p_cache = weights[nexts[lo:t] == nexts[t]].sum() / weights.sum()
        total -= math.log((1 - cache["lam"]) * p_model[t] + cache["lam"] * p_cache)
    assert metrics["perplexity"] == pytest.approx(math.exp(total / len(nexts)), rel=1e-4)


def test_cache_window_bad_input_is_one_line(corpus, lstm_run, tmp_path):
    completed = run_cli("evaluate", lstm_run, "--test", corpus["test"], "--cache-window", "0")
    assert completed.returncode == 2 and "--cache-window" in completed.stderr
    # The tuning text is the training corpus named in run.json: gone, it is one line, not a traceback.
    moved = tmp_path / "lstm"
    import shutil

    shutil.copytree(lstm_run, moved, ignore=shutil.ignore_patterns("evaluation*"))
    info = json.loads((moved / "run.json").read_text(encoding="utf-8"))
    info["corpus"] = str(tmp_path / "gone.txt")
    (moved / "run.json").write_text(json.dumps(info), encoding="utf-8")
    completed = run_cli("evaluate", moved, "--test", corpus["test"], "--cache-window", "10")
    assert_one_line_error(completed, "--cache-window", "not there")


def _greedy_reference(model, vocabulary, prompt, steps):
    index = {token: i for i, token in enumerate(vocabulary)}
    ids = [index.get(token, index["[UNK]"]) for token in _tokens(prompt)]
    new = []
    for _ in range(steps):
        logits = model(np.array([ids + new], "int32"))[0, -1]
        new.append(int(np.argmax(logits)))
    return ids, new


def _completion_text(tokenizer, prompt_ids, new_ids):
    """The new tokens as they read after the prompt: the whole sequence's text minus the prompt's
    (so the space the word spacing rule puts between prompt and completion is part of it)."""
    prompt_text = tokenizer.decode(prompt_ids)
    whole = tokenizer.decode(prompt_ids + new_ids)
    assert whole.startswith(prompt_text)
    return whole[len(prompt_text):]


# Default-suite budget (2026-11-30): word-level continuations are checked in tests/tokenizers/test_word.py
@pytest.mark.slow
def test_generate_and_export_continue_like_the_model_greedily(corpus, lstm_run):
    prompts = ["the cat sat", "a big dog ran on"]
    args = [a for prompt in prompts for a in ("--prompt", prompt)]
    completed = run_cli("generate", lstm_run, *args, "--decoding", "greedy", "--max-new-tokens", "5")
    assert completed.returncode == 0, completed.stderr[-3000:]
    model, vocabulary = _model(lstm_run), _vocabulary(lstm_run)
    from keras_llm.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(str(lstm_run / "tokenizer"))
    expected = [_completion_text(tokenizer, *_greedy_reference(model, vocabulary, prompt, 5)) for prompt in prompts]
    for prompt, completion in zip(prompts, expected):
        assert prompt + completion in completed.stdout
    base = corpus["folder"] / "saved_models"
    completed = run_cli("export", lstm_run, "--base-dir", base, "--name", "lstm")
    assert completed.returncode == 0, completed.stderr[-3000:]
    served = tf.saved_model.load(str(base / "lstm" / "1")).signatures["generate"](
        prompts=tf.constant(prompts), max_new_tokens=tf.constant(5), temperature=tf.constant(0.0),
        top_k=tf.constant(0), seed=tf.constant(0))["completions"]
    assert [text.decode("utf-8") for text in served.numpy()] == expected


def test_empty_word_vocabulary_is_one_line(corpus):
    unique = corpus["folder"] / "unique.txt"
    unique.write_text("alpha beta gamma delta\nepsilon zeta eta\n", encoding="utf-8")
    completed = run_cli("train", "lstm-lm", "--corpus", unique, "--tokenizer", "word", "--min-count", "2",
                        "--run-dir", corpus["folder"] / "empty")
    assert_one_line_error(completed, "vocabulary is empty", "min_count=2")


def test_gpt_recipe_trains_on_words(corpus):
    """The GPT recipe with --tokenizer word: run.json records it and the model's vocabulary is the words' (the
    run stops once run.json is written)."""
    run_dir = corpus["folder"] / "gpt"
    completed = run_cli("train", "gpt-shakespeare-char", "--corpus", corpus["train"], "--tokenizer", "word",
                        "--min-count", "3", "--max-length", "16", "--run-dir", run_dir,
                        env={"KERAS_LLM_FAILPOINT": "run-written"})
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    counts = Counter(_tokens(corpus["train"].read_text(encoding="utf-8")))
    assert info["tokenizer"] == {"kind": "word", "min_count": 3}, completed.stderr[-2000:]
    assert info["model_config"]["vocab_size"] == 1 + sum(count >= 3 for count in counts.values())


@pytest.mark.slow  # a second bad-input case; the empty vocabulary above is the one the issue names
def test_min_count_needs_a_word_tokenizer(corpus):
    completed = run_cli("train", "gpt-shakespeare-char", "--corpus", corpus["train"], "--min-count", "3",
                        "--run-dir", corpus["folder"] / "char")
    assert_one_line_error(completed, "--min-count", "--tokenizer word")


def test_compare_scores_every_model_on_the_valid_file_with_one_vocabulary(corpus):
    out = corpus["folder"] / "compare"
    completed = run_cli("compare", "--corpus", corpus["train"], "--valid", corpus["test"], "--tokenizer", "word",
                        "--min-count", "2", "--models", "ngram", "--ngram-order", "2", "--max-length", str(CONTEXT),
                        "--batch-size", "2", "--eval-batches", "1", "--output-dir", out)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    settings = results["settings"]
    train_tokens, test_tokens = _tokens(corpus["train"].read_text("utf-8")), _tokens(corpus["test"].read_text("utf-8"))
    counts = Counter(train_tokens)
    vocabulary = ["[UNK]"] + sorted((t for t, c in counts.items() if c >= 2), key=lambda t: (-counts[t], t))
    assert settings["valid_path"] == str(corpus["test"]) and settings["vocab_size"] == len(vocabulary)
    assert settings["train_tokens"] == len(train_tokens) and settings["valid_tokens"] == len(test_tokens)
    index = {token: i for i, token in enumerate(vocabulary)}
    lm = NGramLanguageModel(2).fit(np.array([index.get(t, 0) for t in train_tokens]), len(vocabulary))
    valid = np.array([index.get(t, 0) for t in test_tokens])
    ngram = next(row for row in results["results"] if row["name"] == "ngram")
    # Every validation token after the first (cross_entropy also predicts the first, from no history).
    after_first = (lm.cross_entropy(valid) * len(valid) + lm.log_prob([], int(valid[0]))) / (len(valid) - 1)
    assert ngram["val_loss_all"] == pytest.approx(after_first, rel=1e-9)
    assert f"--valid {corpus['test']}" in settings["command"]
