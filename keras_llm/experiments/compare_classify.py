"""Compare text classifiers (small BERT, BiLSTM, GRU, bag-of-n-grams) on one labelled table.

``compare_classifiers`` trains every model on the same training texts and scores it on the
same validation texts, then writes ``report.md`` (table and settings), ``report.png`` (accuracy
and macro-F1 per model) and ``results.json``.

What is shared, and how:

- The split: a stratified 10% of the table validates (``stratified_split``, ``seed``), unless
  ``valid_path`` names a separate table. Tokenizers and vocabularies see the training texts only.
- The budget: the same number of epochs (at most) for every neural model, batch size 32, early
  stopping on validation loss (patience 2, best weights restored) for all of them.
- The scores: accuracy and macro-F1 (``SparseMacroF1``) of the argmax predictions on the
  validation texts. "train s" is the wall time of tokenizer/vocabulary training plus ``fit``.

The models:

- ``bert``: a small BERT from scratch (WordPiece trained on the training texts), fine-tuned with
  ``train_text_classifier`` (AdamW, warm-up and linear decay).
- ``bilstm`` / ``gru``: ``build_rnn_classifier`` over word ids (``WordTokenizer``, words seen at
  least twice, lowercased; ids shifted by one so 0 is padding), Adam.
- ``bow``: multinomial logistic regression on uni+bigram TF-IDF features (``TextVectorization``
  adapted on the training texts, then one ``Dense`` layer), Adam.
"""

import json
import os
import platform
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from keras_llm.data import label_vocabulary, read_labeled_table, stratified_split
from keras_llm.errors import UserInputError
from keras_llm.experiments.model_names import parse_model_names, positive_int
from keras_llm.models import BertConfig, build_bert_backbone, build_bert_classifier, build_rnn_classifier
from keras_llm.runs.classifier import evaluate_classifier
from keras_llm.tokenizers import WordPieceTokenizer, WordTokenizer
from keras_llm.training.classifier import ClassifierTrainingConfig, train_text_classifier
from keras_llm.training.metrics import SparseMacroF1

MODELS = ("bert", "bilstm", "gru", "bow")
DESCRIPTIONS = {
    "bert": "small BERT from scratch (WordPiece)",
    "bilstm": "bidirectional LSTM over word ids",
    "gru": "GRU over word ids",
    "bow": "logistic regression on uni+bigram TF-IDF",
}
VALIDATION_FRACTION = 0.1
BATCH_SIZE = 32
PATIENCE = 2
RNN_LEARNING_RATE = 1e-3
BOW_LEARNING_RATE = 5e-3
BOW_MAX_TOKENS = 20000


def parse_classifier_models(models):
    """``"a,b"`` or a sequence of names → a tuple of distinct names from ``MODELS``."""
    return parse_model_names(models, MODELS)


def load_split(train_path, valid_path, text_column, label_column, seed):
    """``(train_texts, train_ids), (valid_texts, valid_ids), label_names``."""
    texts, labels = read_labeled_table(train_path, text_column, label_column)
    label_names = label_vocabulary(labels)
    index = {name: i for i, name in enumerate(label_names)}
    label_ids = np.asarray([index[label] for label in labels], np.int32)
    if valid_path:
        valid_texts, valid_labels = read_labeled_table(valid_path, text_column, label_column)
        unknown = sorted(set(valid_labels) - set(label_names))
        if unknown:
            raise UserInputError(f"{valid_path} has labels not in the training data: {', '.join(unknown[:5])}")
        return (texts, label_ids), (valid_texts, np.asarray([index[v] for v in valid_labels], np.int32)), label_names
    train_index, valid_index = stratified_split(label_ids, VALIDATION_FRACTION, seed=seed)
    if len(valid_index) == 0 or len(train_index) == 0:
        raise UserInputError(f"{train_path} is too small to hold out a validation split; add rows or pass --valid")
    pick = lambda index: [texts[i] for i in index]  # noqa: E731
    return (pick(train_index), label_ids[train_index]), (pick(valid_index), label_ids[valid_index]), label_names


def scores(predictions, label_ids, num_classes):
    """``{"accuracy", "macro_f1"}`` of predicted class ids against true ones."""
    predictions, label_ids = np.asarray(predictions), np.asarray(label_ids)
    f1 = SparseMacroF1(num_classes)
    f1.update_state(label_ids, np.eye(num_classes, dtype=np.float32)[predictions])
    return {"accuracy": float(np.mean(predictions == label_ids)), "macro_f1": float(f1.result())}


def _early_stopping():
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)


def _compile(model, learning_rate, jit_compile):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")], jit_compile=jit_compile)


def run_bert(train, valid, num_classes, label_names, settings, verbose):
    """Small BERT from scratch; returns ``(model, metrics)``."""
    tokenizer = WordPieceTokenizer.train(list(train[0]), vocab_size=settings["bert_vocab_size"], lowercase=True)
    hidden = settings["hidden_dim"]
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_dim=hidden, num_layers=settings["bert_layers"],
                        num_heads=max(1, hidden // 64), intermediate_dim=4 * hidden,
                        max_length=settings["max_length"], dropout=0.1)
    model = build_bert_classifier(build_bert_backbone(config), num_classes)
    training = ClassifierTrainingConfig(
        epochs=settings["epochs"], batch_size=BATCH_SIZE, learning_rate=1e-3, warmup_steps=50,
        max_length=settings["max_length"], patience=PATIENCE, seed=settings["seed"],
        jit_compile=settings["jit_compile"])
    # The run directory (checkpoints, backup, TensorBoard logs) is scaffolding of the trainer here.
    with tempfile.TemporaryDirectory(prefix="compare_bert_") as run_dir:
        history = train_text_classifier(model, tokenizer, (list(train[0]), train[1]), (list(valid[0]), valid[1]),
                                        label_names, run_dir, training, verbose)
    metrics = evaluate_classifier(model, tokenizer, list(valid[0]), valid[1], num_classes, settings["max_length"])
    return model, {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
                   "epochs_run": len(history.history.get("loss", []))}


def word_ids(tokenizer, texts, max_length):
    """int32 ``(batch, max_length)``: word ids + 1 (so 0 is padding), truncated and zero-padded."""
    ids = tokenizer.tokenize(tf.constant(list(texts), tf.string))[:, :max_length] + 1
    return ids.to_tensor(0, shape=[None, max_length]).numpy().astype(np.int32)


def run_rnn(name, train, valid, num_classes, settings, verbose):
    """``bilstm`` or ``gru`` over word ids; returns ``(model, metrics)``."""
    tokenizer = WordTokenizer.train("\n".join(train[0]), min_frequency=2, lowercase=True)
    x_train = word_ids(tokenizer, train[0], settings["max_length"])
    x_valid = word_ids(tokenizer, valid[0], settings["max_length"])
    cell, bidirectional = ("lstm", True) if name == "bilstm" else ("gru", False)
    model = build_rnn_classifier(tokenizer.vocab_size + 1, num_classes, cell=cell, bidirectional=bidirectional,
                                 units=settings["hidden_dim"], embedding_dim=settings["hidden_dim"], dropout=0.1,
                                 name=f"{name}_classifier")
    _compile(model, RNN_LEARNING_RATE, settings["jit_compile"])
    history = model.fit(x_train, train[1], validation_data=(x_valid, valid[1]), epochs=settings["epochs"],
                        batch_size=BATCH_SIZE, callbacks=[_early_stopping()], verbose=verbose)
    predictions = np.argmax(model.predict(x_valid, batch_size=256, verbose=0), axis=-1)
    return model, {**scores(predictions, valid[1], num_classes), "epochs_run": len(history.history["loss"]),
                   "vocab_size": tokenizer.vocab_size + 1}


def run_bow(train, valid, num_classes, settings, verbose):
    """Multinomial logistic regression on uni+bigram TF-IDF; returns ``(model, metrics)``."""
    vectorizer = keras.layers.TextVectorization(max_tokens=BOW_MAX_TOKENS, ngrams=2, output_mode="tf_idf")
    vectorizer.adapt(tf.constant(list(train[0]), tf.string), batch_size=256)

    def features(texts, label_ids, shuffle):
        data = tf.data.Dataset.from_tensor_slices((tf.constant(list(texts), tf.string), label_ids))
        if shuffle:
            data = data.shuffle(len(texts), seed=settings["seed"], reshuffle_each_iteration=True)
        return data.batch(BATCH_SIZE).map(lambda text, label: (vectorizer(text), label)).prefetch(tf.data.AUTOTUNE)

    inputs = keras.Input((vectorizer.vocabulary_size(),), name="tf_idf")
    model = keras.Model(inputs, keras.layers.Dense(num_classes, name="logits")(inputs), name="bow_classifier")
    _compile(model, BOW_LEARNING_RATE, settings["jit_compile"])
    valid_data = features(valid[0], valid[1], False)
    history = model.fit(features(train[0], train[1], True), validation_data=valid_data, epochs=settings["epochs"],
                        callbacks=[_early_stopping()], verbose=verbose, shuffle=False)  # the dataset shuffles
    predictions = np.concatenate([np.argmax(model(x, training=False), axis=-1) for x, _ in valid_data])
    return model, {**scores(predictions, valid[1], num_classes), "epochs_run": len(history.history["loss"]),
                   "vocab_size": vectorizer.vocabulary_size()}


def compare_classifiers(train_path, out_dir, valid_path=None, text_column="text", label_column="label",
                        models=MODELS, epochs=5, max_length=64, seed=1337, verbose=0, hidden_dim=128,
                        bert_layers=2, bert_vocab_size=4000, jit_compile=True):
    """Train each classifier in ``models`` on one split of ``train_path``; write the report.

    Args:
        train_path: CSV/TSV with a header row.
        out_dir: where ``report.md``, ``report.png`` and ``results.json`` go.
        valid_path: optional validation table (default: a stratified 10% of ``train_path``).
        text_column, label_column: column names in the header.
        models: names from ``MODELS`` (a sequence or a comma-separated string).
        epochs: the most epochs of every neural model (early stopping may end it sooner).
        max_length: tokens per text (BERT: WordPiece tokens with [CLS]/[SEP]; RNNs: words).
        seed: split, initialisation and shuffling seed.
        verbose: Keras ``fit`` verbosity.
        hidden_dim: BERT width and RNN embedding/state width.
        bert_layers, bert_vocab_size: BERT depth and WordPiece vocabulary size.
        jit_compile: XLA for the training steps (off is faster for tiny runs).

    Returns:
        dict: ``{"settings": {...}, "results": [{"model", "params", "train_seconds", "accuracy",
        "macro_f1", ...}, ...]}`` (also written to ``results.json``).
    """
    names = parse_classifier_models(models)
    settings = {"train": os.fspath(train_path), "valid": os.fspath(valid_path) if valid_path else None,
                "text_column": text_column, "label_column": label_column, "models": list(names),
                "epochs": positive_int("epochs", epochs), "max_length": positive_int("max-length", max_length),
                "seed": int(seed), "hidden_dim": positive_int("hidden-dim", hidden_dim),
                "bert_layers": positive_int("bert-layers", bert_layers),
                "bert_vocab_size": positive_int("bert-vocab-size", bert_vocab_size),
                "jit_compile": bool(jit_compile), "batch_size": BATCH_SIZE, "patience": PATIENCE}
    train, valid, label_names = load_split(train_path, valid_path, text_column, label_column, settings["seed"])
    settings.update(labels=label_names, train_examples=len(train[0]), valid_examples=len(valid[0]))
    num_classes = len(label_names)
    os.makedirs(out_dir, exist_ok=True)

    results = []
    for name in names:
        keras.utils.set_random_seed(settings["seed"])
        start = time.perf_counter()
        if name == "bert":
            model, metrics = run_bert(train, valid, num_classes, label_names, settings, verbose)
        elif name == "bow":
            model, metrics = run_bow(train, valid, num_classes, settings, verbose)
        else:
            model, metrics = run_rnn(name, train, valid, num_classes, settings, verbose)
        seconds = time.perf_counter() - start
        results.append({"model": name, "params": int(model.count_params()), "train_seconds": seconds, **metrics})
        keras.backend.clear_session()

    report = {"settings": settings, "results": results}
    with open(os.path.join(out_dir, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    with open(os.path.join(out_dir, "report.md"), "w", encoding="utf-8") as handle:
        handle.write(render_report(results, settings))
    plot_scores(results, os.path.join(out_dir, "report.png"))
    return report


def command_line(settings):
    """The ``keras-llm compare --task classify`` line that reproduces a run."""
    parts = ["keras-llm compare --task classify", f"--train {settings['train']}"]
    if settings["valid"]:
        parts.append(f"--valid {settings['valid']}")
    parts += [f"--text-column {settings['text_column']}", f"--label-column {settings['label_column']}",
              f"--models {','.join(settings['models'])}", f"--epochs {settings['epochs']}",
              f"--seed {settings['seed']}"]
    return " ".join(parts)


def render_report(results, settings):
    """``report.md``: the table, then the settings."""
    lines = ["# Text classifiers compared", "",
             f"{settings['train_examples']} training / {settings['valid_examples']} validation texts, "
             f"{len(settings['labels'])} classes ({', '.join(settings['labels'][:10])}); "
             "scores on the validation texts.", "",
             "| model | params | train s | epochs run | accuracy | macro-F1 |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['model']} | {r['params']:,} | {r['train_seconds']:.1f} | {r['epochs_run']} | "
                     f"{r['accuracy']:.4f} | {r['macro_f1']:.4f} |")
    split = (f"validation file {settings['valid']}" if settings["valid"]
             else f"stratified {VALIDATION_FRACTION:.0%} of the training file (seed {settings['seed']})")
    lines += ["", "## Models", ""] + [f"- **{name}**: {DESCRIPTIONS[name]}" for name in settings["models"]]
    lines += ["", "## Settings", "",
              f"- command: `{command_line(settings)}`",
              f"- split: {split}",
              f"- budget: at most {settings['epochs']} epochs each, batch size {settings['batch_size']}, early "
              f"stopping on validation loss (patience {settings['patience']}, best weights restored)",
              f"- max length: {settings['max_length']} tokens; hidden/embedding width {settings['hidden_dim']}; "
              f"BERT {settings['bert_layers']} layers, WordPiece vocabulary {settings['bert_vocab_size']}",
              "- optimizers: BERT AdamW 1e-3 (warm-up 50 steps, linear decay); RNNs Adam "
              f"{RNN_LEARNING_RATE:g}; bag-of-n-grams Adam {BOW_LEARNING_RATE:g} "
              f"(TF-IDF over at most {BOW_MAX_TOKENS:,} uni+bigrams)",
              "- train s: tokenizer/vocabulary training plus `fit` (validation each epoch included)",
              f"- XLA: {'on' if settings['jit_compile'] else 'off'}; seed {settings['seed']}",
              f"- software: Python {platform.python_version()}, TensorFlow {tf.__version__}, "
              f"Keras {keras.__version__}; {os.cpu_count()} CPU cores", ""]
    return "\n".join(lines)


def plot_scores(results, path):
    """Grouped bars: accuracy and macro-F1 per model."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1.6 + 1.4 * len(results), 4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    positions = np.arange(len(results))
    for offset, key, label in ((-0.2, "accuracy", "accuracy"), (0.2, "macro_f1", "macro-F1")):
        values = [r[key] for r in results]
        bars = axes.bar(positions + offset, values, width=0.4, label=label)
        axes.bar_label(bars, fmt="%.3f", fontsize=8)
    axes.set_xticks(positions, [r["model"] for r in results])
    axes.set_ylim(0, 1.15)
    axes.set_ylabel("validation score")
    axes.set_title("text classifiers on one split")
    axes.legend(loc="upper center", ncol=2)
    axes.grid(axis="y", alpha=0.3)
    figure.savefig(path, dpi=100)
