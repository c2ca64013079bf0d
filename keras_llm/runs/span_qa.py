"""Train an extractive-QA recipe (a span reader on SQuAD v1.1 JSON) into a run directory; load it; answer with it.

A QA run directory holds ``run.json`` (recipe, settings, the window settings answers are read with),
``tokenizer/``, ``best.keras``, ``final.keras``, ``backup/``, ``history.csv``, ``logs/`` and
``valid_metrics.json`` (exact match and token F1 of the best model on the validation questions).

Example:
    >>> run_dir, _ = train_qa_run("qa", train_file="squad-train.json", run_dir="runs/qa")
    >>> answer_questions(run_dir, ["Who won?"], ["The Broncos won the game."])   # [(answer, score, start, end)]
"""

import json
import os

import keras
import tensorflow as tf

from keras_llm.data.qa_training import qa_training_windows
from keras_llm.data.span_answers import read_answers
from keras_llm.data.squad import read_squad
from keras_llm.errors import UserInputError
from keras_llm.files import atomic_write_text
from keras_llm.models.bert import BertConfig
from keras_llm.models.span_reader import SPAN_HEAD, build_span_reader
from keras_llm.runs.backbones import pretrained_bert_encoder
from keras_llm.runs.classifier import fit_max_length, resolve_init_from
from keras_llm.runs.layout import check_resumed_data, load_trained_run, write_run_info
from keras_llm.runs.lifecycle import run_lifecycle
from keras_llm.runs.recipes import load_recipe
from keras_llm.tokenizers import WordPieceTokenizer
from keras_llm.training.lora import lora_from_settings
from keras_llm.training.run_callbacks import run_paths
from keras_llm.training.span_qa import QATrainingConfig, train_span_reader

MODEL_KIND = "extractive-qa"


def _split_by_article(examples, log):
    """The last tenth of the articles (at least one) for validation, so no paragraph is on both sides."""
    titles = list(dict.fromkeys(example.title for example in examples))
    if len(titles) >= 2:
        held = set(titles[-max(1, len(titles) // 10):])
        log(f"validation: the last {len(held)} of {len(titles)} articles of the training file")
        return [e for e in examples if e.title not in held], [e for e in examples if e.title in held]
    if len(examples) < 2:
        raise UserInputError("the training file has one question; give a validation file (valid_file) or more")
    cut = max(1, len(examples) // 10)
    return examples[:-cut], examples[-cut:]


def _new_model(recipe, examples, training, model_config):
    spec = recipe.get("tokenizer", {})
    tokenizer = WordPieceTokenizer.train([text for e in examples for text in (e.question, e.context)],
                                         vocab_size=int(spec.get("vocab_size", 8000)),
                                         lowercase=bool(spec.get("lowercase", True)))
    options = {k: v for k, v in model_config.items() if k != "dropout"}
    config = BertConfig(vocab_size=tokenizer.vocab_size, **{**options, "max_length": training.max_length,
                                                            "dropout": model_config.get("dropout", 0.1)})
    return build_span_reader(config=config, dropout=config.dropout), tokenizer


@run_lifecycle(MODEL_KIND)
def train_qa_run(recipe_name, run_dir=None, train_file=None, valid_file=None, init_from=None,
                 training_overrides=None, model_overrides=None, verbose=1, log=print):
    """Train recipe ``recipe_name`` (an ``extractive-qa`` recipe) on SQuAD v1.1 JSON; returns ``(run_dir, history)``.

    Args:
        train_file, valid_file: SQuAD v1.1 JSON files (``valid_file`` defaults to the last tenth of the
            training file's articles).
        init_from: a Hugging Face BERT directory, ``package:<module>``, or an earlier run with a BERT encoder.
        training_overrides, model_overrides: dicts over the recipe's ``training`` / ``model_config``.
    """
    recipe = load_recipe(recipe_name)
    if recipe.get("model") != MODEL_KIND:
        raise UserInputError(f"recipe {recipe_name!r} is not an extractive-qa recipe")
    if not train_file:
        raise UserInputError(f"recipe {recipe_name!r} needs a training file (train_file: SQuAD v1.1 JSON)")
    fingerprint = check_resumed_data(run_dir, train_file, valid_file)
    train_examples = read_squad(train_file)
    if valid_file:
        valid_examples = read_squad(valid_file)
    else:
        train_examples, valid_examples = _split_by_article(train_examples, log)
    training = QATrainingConfig(**{**recipe.get("training", {}), **(training_overrides or {})})
    keras.utils.set_random_seed(training.seed)
    init_from = resolve_init_from(init_from or recipe.get("init_from"))
    model_config = {**recipe.get("model_config", {}), **(model_overrides or {})}
    if init_from:
        pretrained, tokenizer = pretrained_bert_encoder(init_from)
        training = fit_max_length(pretrained, training, training_overrides, init_from, log)
        model = build_span_reader(pretrained=pretrained, dropout=model_config.get("dropout", 0.1))
    else:
        model, tokenizer = _new_model(recipe, train_examples, training, model_config)

    os.makedirs(run_dir, exist_ok=True)
    tokenizer.save(run_paths(run_dir)["tokenizer"])
    window = training.window_settings
    encode = lambda examples: qa_training_windows(  # noqa: E731
        tokenizer, examples, window["max_length"], window["stride"], window["max_question_length"])
    train_windows, valid_windows = encode(train_examples), encode(valid_examples)
    log(f"{recipe_name}: {model.count_params() / 1e6:.2f}M parameters, {len(train_examples)} training questions "
        f"({len(train_windows['token_ids'])} windows) / {len(valid_examples)} validation questions; "
        f"run directory {run_dir}")
    lora_from_settings(model, training, trainable_layers=(SPAN_HEAD,), log=log)
    write_run_info(run_dir, {
        "recipe": recipe_name, "version": recipe.get("version", 1), "model": MODEL_KIND, "init_from": init_from,
        "model_config": model_config, "training": {**vars(training), "stride": training.stride},
        "answers": window, "examples": {"train": len(train_examples), "valid": len(valid_examples),
                                        "train_windows": int(len(train_windows["token_ids"]))},
        "data_files": {"train": os.path.abspath(train_file),
                       "valid": os.path.abspath(valid_file) if valid_file else None},
        "data_sha256": fingerprint})
    history = train_span_reader(model, train_windows, valid_windows, run_dir, training, verbose,
                                vocabulary=tokenizer.vocabulary)
    metrics = score_examples((model, tokenizer, {"answers": window}), valid_examples)
    atomic_write_text(os.path.join(run_dir, "valid_metrics.json"), json.dumps(metrics, indent=2))
    log(f"validation: exact match {metrics['exact_match']:.2f}, F1 {metrics['f1']:.2f} on "
        f"{metrics['questions']} questions")
    return run_dir, history


def load_qa_run(run_dir, which="best"):
    """``(model, tokenizer, run_info)`` of a trained QA run."""
    return load_trained_run(run_dir, MODEL_KIND, which)


def _reader(run_or_model):
    if isinstance(run_or_model, (str, os.PathLike)):
        return load_qa_run(os.fspath(run_or_model))
    model, tokenizer, run_info = run_or_model
    return model, tokenizer, run_info


def reader_function(run_or_model, compiled=True):
    """``read(questions, contexts)`` → numpy dict of :func:`~keras_llm.data.span_answers.read_answers`.

    With ``compiled``, one ``tf.function`` traced once for every batch shape (a few seconds): worth it for a
    file of questions, where op by op the tokenizer, windows and decoding would cost more than a small model;
    without, op by op (a handful of questions: `keras-llm answer`, a retriever's top passages).
    """
    model, tokenizer, run_info = _reader(run_or_model)
    settings = {key: int(value) for key, value in run_info["answers"].items()}

    def read_graph(questions, contexts):
        return read_answers(model, tokenizer, questions, contexts, **settings)

    read = tf.function(read_graph, input_signature=[tf.TensorSpec([None], tf.string)] * 2) if compiled else read_graph

    def run(questions, contexts):
        result = read(tf.constant(list(questions), tf.string), tf.constant(list(contexts), tf.string))
        return {key: value.numpy() for key, value in result.items()}
    return run


def answer_batches(run_or_model, questions, contexts, batch_size=32, compiled=False):
    """Yield :func:`reader_function` results (numpy dicts) of ``batch_size`` pairs at a time."""
    read = reader_function(run_or_model, compiled)
    for first in range(0, len(questions), batch_size):
        yield read(questions[first:first + batch_size], contexts[first:first + batch_size])


def answer_questions(run_or_model, questions, contexts, batch_size=32, compiled=False):
    """Answer each question from its context with a trained reader.

    Args:
        run_or_model: a QA run directory, or the ``(model, tokenizer, run_info)`` of :func:`load_qa_run`
            (load once, answer many times).
        questions, contexts: lists of str of the same length.
        batch_size: pairs per model call.
        compiled: trace the whole reading into one ``tf.function`` first (for many questions; see
            :func:`reader_function`).

    Returns:
        list of ``(answer, score, start, end)``: the best span (``contexts[i][start:end] == answer`` for
        valid UTF-8 text), its score ``p_start * p_end`` in [0, 1]; a question whose answer is not in the
        context gets the best span there is and its (low) score; an empty context gives ``("", 0.0, 0, 0)``.
    """
    if len(questions) != len(contexts):
        raise UserInputError(f"{len(questions)} questions but {len(contexts)} contexts: give one context per question")
    answers = []
    for batch in answer_batches(run_or_model, questions, contexts, batch_size, compiled):
        answers += [(text.decode("utf-8"), float(score), int(start), int(end))
                    for text, score, start, end in zip(batch["answer"], batch["score"], batch["start"], batch["end"])]
    return answers


def score_examples(run_or_model, examples, batch_size=32):
    """Exact match and F1 (SQuAD v1.1, × 100) of a reader on :class:`~keras_llm.data.squad.QAExample` s
    (:func:`~keras_llm.evaluation.squad.squad_scores`)."""
    from keras_llm.evaluation.squad import squad_scores

    answers = answer_questions(run_or_model, [e.question for e in examples], [e.context for e in examples],
                               batch_size, compiled=len(examples) > batch_size)
    predictions = {e.id: a[0] for e, a in zip(examples, answers)}
    return squad_scores(predictions, {e.id: [text for text, _ in e.answers] for e in examples})
