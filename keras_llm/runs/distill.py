"""`keras-llm distill`: a small classifier (BiLSTM or BERT from scratch) trained on a classifier run's soft labels.

The student is recipe ``bert-classifier`` with the chosen backbone (its own WordPiece vocabulary trained
on the training texts); its run directory is an ordinary classifier run (``classify``, ``evaluate``,
``predict``, ``export`` work on it) whose run.json adds ``distillation: {teacher, temperature, alpha}``.
The teacher's logits come from its own pooled prediction (long texts as the teacher reads them).

Example:
    >>> run_dir = train_distilled_run("runs/minilm-sentiment", "train.csv", run_dir="runs/student")
"""

import os

import keras
import numpy as np

from keras_llm.data.pooled_prediction import classify_texts
from keras_llm.data.windows import LongTexts
from keras_llm.errors import UserInputError
from keras_llm.runs.backbones import apply_backbone
from keras_llm.runs.classifier import (
    MODEL_KIND,
    _model_and_tokenizer,
    _read_tables,
    _split,
    _training_settings,
    evaluate_classifier,
    load_classifier_run,
)
from keras_llm.runs.layout import write_run_info
from keras_llm.runs.lifecycle import run_lifecycle
from keras_llm.runs.recipes import load_recipe
from keras_llm.training.distillation import DistillationSettings, packed_targets, train_distilled_classifier
from keras_llm.training.run_callbacks import run_paths

STUDENT_RECIPE = "bert-classifier"  # its `backbones:` are the students (bilstm, bert)
STUDENTS = ("bilstm", "bert")


def teacher_logits(teacher, teacher_tokenizer, teacher_info, texts):
    """``(len(texts), C)`` float32: log-probabilities of the teacher run's pooled prediction (logits up to a
    constant per text, which a softmax ignores)."""
    training = teacher_info["training"]
    probabilities, _ = classify_texts(teacher, teacher_tokenizer, list(texts), training["max_length"],
                                      LongTexts.from_training(training), batch_size=training.get("eval_batch_size", 64))
    return np.log(np.maximum(np.asarray(probabilities, np.float32), 1e-12))


def _label_ids(labels, teacher_labels, path):
    unknown = sorted(set(labels) - set(teacher_labels))
    if unknown:
        raise UserInputError(f"{path} has labels the teacher does not know ({', '.join(unknown[:5])}); the teacher "
                             f"predicts {', '.join(teacher_labels[:10])}")
    index = {name: i for i, name in enumerate(teacher_labels)}
    return np.asarray([index[label] for label in labels])


@run_lifecycle(MODEL_KIND)
def train_distilled_run(teacher_dir, train_file, run_dir=None, valid_file=None, text_column=None, label_column=None,
                        student="bilstm", temperature=None, alpha=None, training_overrides=None, verbose=1, log=print):
    """Distil the classifier run ``teacher_dir`` into a ``student`` (``bilstm`` or ``bert``) on ``train_file``.

    ``temperature``/``alpha``: None takes :class:`DistillationSettings`' defaults. ``training_overrides``
    go over the student recipe's training settings, as for `keras-llm train`. Returns the run directory.

    Raises:
        UserInputError: the teacher is not a classifier run, or the file has labels the teacher does not know.
    """
    if student not in STUDENTS:
        raise UserInputError(f"student must be one of {', '.join(STUDENTS)}; got {student!r}")
    given = {"temperature": temperature, "alpha": alpha}
    settings = DistillationSettings(**{name: value for name, value in given.items() if value is not None})
    teacher, teacher_tokenizer, teacher_info = load_classifier_run(teacher_dir)
    recipe, _ = apply_backbone(load_recipe(STUDENT_RECIPE), STUDENT_RECIPE, student)
    data = {**recipe.get("data", {}), "text_column": text_column or teacher_info["data"].get("text_column", "text"),
            "label_column": label_column or teacher_info["data"].get("label_column", "label")}
    texts, labels = _read_tables([train_file], data)
    label_names = list(teacher_info["labels"])
    label_ids = _label_ids(labels, label_names, train_file)
    if valid_file:
        valid_texts, valid_labels = _read_tables([valid_file], data)
        train, valid = (texts, label_ids), (valid_texts, _label_ids(valid_labels, label_names, valid_file))
    else:
        train, valid = _split(texts, label_ids, data.get("validation_fraction", 0.1), 0, label_names)
    # Students read whole texts (truncated): the soft labels are per text, not per window.
    training = _training_settings(recipe, run_dir, {**(training_overrides or {}), "long_texts": "truncate"})
    keras.utils.set_random_seed(training.seed)
    log(f"teacher {teacher_dir}: soft labels for {len(train[0])} training / {len(valid[0])} validation texts")
    targets = [packed_targets(ids, teacher_logits(teacher, teacher_tokenizer, teacher_info, part))
               for part, ids in (train, valid)]
    model, tokenizer, training = _model_and_tokenizer(None, recipe, train[0], len(label_names), training, None, log)
    os.makedirs(run_dir, exist_ok=True)
    tokenizer.save(run_paths(run_dir)["tokenizer"])
    log(f"student {student}: {model.count_params() / 1e6:.2f}M parameters "
        f"(teacher {teacher.count_params() / 1e6:.2f}M); "
        f"temperature {settings.temperature:g}, alpha {settings.alpha:g}; run directory {run_dir}")
    write_run_info(run_dir, {
        "recipe": STUDENT_RECIPE, "version": recipe.get("version", 1), "model": MODEL_KIND, "labels": label_names,
        "init_from": None, "backbone": student, "model_config": recipe.get("model_config", {}), "data": data,
        "training": vars(training), "distillation": {"teacher": os.path.abspath(teacher_dir), **vars(settings)},
        "data_files": {"train": [os.path.abspath(train_file)],
                       "valid": os.path.abspath(valid_file) if valid_file else None}})
    train_distilled_classifier(model, tokenizer, (train[0], targets[0]), (valid[0], targets[1]), run_dir, training,
                               settings, verbose)
    student_scores = evaluate_classifier(model, tokenizer, valid[0], valid[1], len(label_names), training.max_length,
                                         long_texts="truncate")
    teacher_accuracy = float(np.mean(np.argmax(targets[1][:, 1:], axis=-1) == np.asarray(valid[1])))
    log(f"validation accuracy: student {student_scores['accuracy']:.4f}, teacher {teacher_accuracy:.4f} "
        f"({len(valid[0])} texts)")
    return run_dir
