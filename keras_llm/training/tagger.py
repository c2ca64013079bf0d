"""Training of token classifiers: tf.data pipelines, masked loss/accuracy, evaluation, and the fit loop.

Labels are per word piece, -100 everywhere except the first piece of each word (see
:mod:`keras_llm.data.token_alignment`); the loss is Keras' sparse cross-entropy with
``ignore_class=-100`` (averaged over labelled pieces only) and :func:`word_accuracy`
counts labelled pieces only, i.e. words. Batches are cut to their longest row rounded up to a
multiple of :data:`PAD_MULTIPLE` (at most ``max_length``): EWT sentences average about 20
pieces, so padding every batch to 128 would spend most of the compute on padding, while the
rounding keeps the number of distinct shapes (and XLA compilations) small.
"""

import dataclasses
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_llm.data.conll import UNKNOWN_TAG_ID, is_bio_tagset
from keras_llm.data.tagging import PAD_MULTIPLE, tagger_inputs, tagging_dataset, trim_to_longest  # noqa: F401
from keras_llm.data.token_alignment import IGNORE_LABEL
from keras_llm.errors import UserInputError
from keras_llm.models.token_classifier import char_features_of
from keras_llm.training.classifier import ClassifierTrainingConfig, fine_tuning_optimizer
from keras_llm.training.entity_metrics import entity_scores
from keras_llm.training.metrics import MaskedTokenAccuracy
from keras_llm.training.progress import progress_callbacks
from keras_llm.training.resume import logged_history
from keras_llm.training.run_callbacks import TensorBoardSettings, run_callbacks, run_paths, save_final_model
from keras_llm.training.runtime import compile_options


@dataclasses.dataclass
class TaggerTrainingConfig(ClassifierTrainingConfig):
    """How to train a tagger: the classifier's fine-tuning set-up (its ``max_minutes`` budget too),
    with larger batches and a shorter warm-up."""

    batch_size: int = 32
    warmup_steps: int = 200

    def __post_init__(self):
        if self.max_length < 3:  # before the classifier's checks, whose long-text message is not the tagger's
            raise UserInputError(f"max_length must be at least 3 ([CLS] word [SEP]); got {self.max_length}")
        super().__post_init__()


def word_accuracy():
    """Accuracy over positions whose label is not -100 (first word pieces: word accuracy), logged as ``accuracy``.

    :class:`~keras_llm.training.metrics.MaskedTokenAccuracy` with
    -100 as its padding label (one registered class, so saved models name one metric).

    Example:
        >>> metric = word_accuracy()
        >>> metric.update_state([[-100, 1, 0]], [[[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]])
        >>> float(metric.result())
        0.5
    """
    return MaskedTokenAccuracy(pad_id=IGNORE_LABEL, name="accuracy")


def tagger_loss():
    """Sparse cross-entropy on logits, averaged over labelled positions only."""
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)


def predict_tags(model, tokenizer, words, max_length, batch_size=64):
    """Tag pre-split sentences.

    Returns:
        ``(tag_ids, scores)``: per sentence, an int list (-1 for words truncated away) and a
        float list (the softmax probability of the chosen tag; 0 for truncated words).
    """
    data = tf.data.Dataset.from_tensor_slices(tf.ragged.constant(words, dtype=tf.string)).ragged_batch(batch_size)
    ids, scores, char_spec = [], [], char_features_of(model)
    for batch in data:
        inputs, _, out = tagger_inputs(tokenizer, batch, max_length, char_spec)
        probabilities = tf.nn.softmax(tf.cast(model(inputs, training=False), tf.float32), axis=-1)
        per_word = tf.gather(probabilities, out["first_piece"], batch_dims=1)  # (batch, words, tags) ragged
        guess = np.argmax(per_word.flat_values.numpy(), axis=-1) if per_word.flat_values.shape[0] else []
        best = np.max(per_word.flat_values.numpy(), axis=-1) if per_word.flat_values.shape[0] else []
        fits = out["word_mask"].flat_values.numpy()
        for start, end in zip(*(lambda s: (s[:-1], s[1:]))(out["word_mask"].row_splits.numpy())):
            ids.append([int(guess[i]) if fits[i] else UNKNOWN_TAG_ID for i in range(start, end)])
            scores.append([float(best[i]) if fits[i] else 0.0 for i in range(start, end)])
    return ids, scores


def evaluate_tagger(model, tokenizer, sentences, tag_names, max_length, batch_size=64):
    """Word accuracy (and entity P/R/F1 for BIO tag sets) of ``model`` on ``sentences``.

    Words whose gold tag was not seen in training are left out of the accuracy and counted in
    ``unknown_tag_words``; words truncated away by ``max_length`` count as errors (reported in
    ``truncated_words``). Entity scores compare the gold tags as written (an unseen entity type
    is a miss) with the predictions, truncated words predicted ``O``.

    Returns:
        dict ``accuracy``, ``words``, ``sentences``, ``unknown_tag_words``, ``truncated_words``
        and, for BIO tags, ``entity_precision``, ``entity_recall``, ``entity_f1``, ``entity_per_type``.
    """
    predicted, _ = predict_tags(model, tokenizer, [s.words for s in sentences], max_length, batch_size)
    index = {tag: i for i, tag in enumerate(tag_names)}
    correct = scored = unknown = truncated = 0
    for sentence, ids in zip(sentences, predicted):
        for tag, guess in zip(sentence.tags, ids):
            if tag not in index:
                unknown += 1
                continue
            scored += 1
            truncated += guess == UNKNOWN_TAG_ID
            correct += guess == index[tag]
    result = {"accuracy": correct / max(scored, 1), "words": scored, "sentences": len(sentences),
              "unknown_tag_words": unknown, "truncated_words": truncated}
    if is_bio_tagset(tag_names):
        names = lambda ids: ["O" if i < 0 else tag_names[i] for i in ids]  # noqa: E731
        scores = entity_scores([s.tags for s in sentences], [names(ids) for ids in predicted])
        result.update(entity_precision=scores["precision"], entity_recall=scores["recall"],
                      entity_f1=scores["f1"], entity_per_type=scores["per_type"])
    return result


class EntityF1Callback(keras.callbacks.Callback):
    """Add ``val_entity_precision/recall/f1`` (conlleval) to the epoch logs, for BIO tag sets.

    Put it before the TensorBoard callback so the scores reach the event files.
    """

    def __init__(self, tokenizer, sentences, tag_names, max_length):
        super().__init__()
        self.tokenizer, self.sentences, self.tag_names, self.max_length = tokenizer, sentences, tag_names, max_length

    def on_epoch_end(self, epoch, logs=None):
        result = evaluate_tagger(self.model, self.tokenizer, self.sentences, self.tag_names, self.max_length)
        if logs is not None:
            for key in ("precision", "recall", "f1"):
                logs[f"val_entity_{key}"] = result[f"entity_{key}"]


def train_tagger(model, tokenizer, train, valid, tag_names, run_dir, config, verbose=1):
    """Fine-tune ``model`` (encoded inputs → per-piece tag logits) on ``train = (sentences, tag_ids)``.

    Args:
        model: an uncompiled token classifier (``build_token_classifier``).
        tokenizer: its WordPiece tokenizer.
        train, valid: ``(sentences, tag_ids)``: :class:`~keras_llm.data.conll.TaggedSentence` lists and
            their tag ids per word (``encode_tags``; -1 = a tag unseen in training, ignored).
        tag_names: the tag vocabulary (id = index).
        run_dir: where the run's files go (``run_callbacks``: backup, ``best.keras``, history, logs).
        config: a :class:`TaggerTrainingConfig`.
        verbose: Keras verbosity (1 = progress bar).

    Validation each epoch on ``valid`` (word accuracy; entity P/R/F1 for BIO tag sets, logged
    as ``val_entity_*``); early stopping after ``config.patience`` epochs without improvement
    (best weights restored); with ``config.max_minutes``, training stops after that much wall
    time; ``final.keras`` is saved at the end.

    Returns:
        the Keras ``History``.
    """
    (train_sentences, train_ids), (valid_sentences, valid_ids) = train, valid
    char_spec = char_features_of(model)
    train_data = tagging_dataset(tokenizer, [s.words for s in train_sentences], train_ids, config.max_length,
                                 config.batch_size, shuffle=True, seed=config.seed, epochs=config.epochs,
                                 char_spec=char_spec)
    valid_data = tagging_dataset(tokenizer, [s.words for s in valid_sentences], valid_ids, config.max_length,
                                 config.eval_batch_size, char_spec=char_spec)
    steps_per_epoch = max(1, -(-len(train_sentences) // config.batch_size))
    model.compile(optimizer=fine_tuning_optimizer(model, config, steps_per_epoch),
                  loss=tagger_loss(), metrics=[word_accuracy()],
                  **compile_options(config.jit_compile, config.steps_per_execution, align_to=(steps_per_epoch,)))
    extra = ([EntityF1Callback(tokenizer, valid_sentences, tag_names, config.max_length)]
             if is_bio_tagset(tag_names) else [])
    extra.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                               restore_best_weights=True, verbose=int(bool(verbose))))
    callbacks, guard, resumed_steps = run_callbacks(
        run_dir, steps_per_epoch, extra, tensorboard=TensorBoardSettings.of(config, valid_data, tokenizer.vocabulary),
        max_minutes=config.max_minutes)
    with warnings.catch_warnings():
        # A BERT backbone's pooler ([CLS] → tanh) is kept (so the encoder can seed a classifier later)
        # but unused by tagging, so it rightly gets no gradients; Keras would warn about it.
        warnings.filterwarnings("ignore", message=r"Gradients do not exist for variables \['pooler")
        history = model.fit(train_data.skip(resumed_steps), validation_data=valid_data,
                            epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                            callbacks=[*callbacks, *progress_callbacks(verbose)], verbose=0,
                            shuffle=False)  # the dataset shuffles itself
    paths = run_paths(run_dir)
    guard.raise_if_diverged(paths["best"])
    save_final_model(model, paths["final"])
    history.history = logged_history(paths["history"])  # the epochs before a resume too
    return history
