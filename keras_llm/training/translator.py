"""Train an encoder–decoder translator with ``model.fit`` (teacher forcing).

Loss: cross-entropy over the target tokens, padding (label 0) excluded, optionally with label
smoothing (0.1 in "Attention Is All You Need"). Optimizer: AdamW (no decay on biases/LayerNorm),
linear warm-up then cosine decay. The run's callbacks are those of
:func:`keras_llm.training.language_model.fit_in_intervals` (resume backup, ``best.keras`` by
validation loss, divergence stop, TensorBoard), one "epoch" being one evaluation interval.
"""

import dataclasses

import keras
from keras import ops

from keras_llm.checks import positive_int
from keras_llm.errors import UserInputError
from keras_llm.training.attention_images import SOURCE, TARGET
from keras_llm.training.language_model import TrainingConfig, fit_in_intervals
from keras_llm.training.metrics import MaskedTokenAccuracy
from keras_llm.training.optimizers import make_adamw, warmup_cosine_schedule
from keras_llm.training.rouge import TOKENIZERS
from keras_llm.training.runtime import compile_options


@dataclasses.dataclass
class TranslatorTrainingConfig(TrainingConfig):
    """How to train a translator: the language-model trainer's settings with defaults for a small
    CPU model, plus label smoothing and the BLEU sample.

    ``eval_pairs`` validation pairs are translated (greedily) at every evaluation for BLEU/chrF;
    ``bleu_tokenize`` is sacrebleu's tokenizer (``"zh"`` for Chinese targets); ``rouge_tokenize``
    (None: no ROUGE) adds ROUGE-1/2/L F1 on the same sample: ``"default"`` (rouge-score's English
    words) or ``"chars"`` (Chinese; :mod:`keras_llm.training.rouge`).
    """

    steps: int = 3000
    batch_size: int = 64
    warmup_steps: int = 200
    weight_decay: float = 0.01
    beta_2: float = 0.98
    eval_interval: int = 500
    jit_compile: bool | None = False
    label_smoothing: float = 0.1
    eval_pairs: int = 200
    bleu_tokenize: str = "13a"
    rouge_tokenize: str | None = None

    def __post_init__(self):
        super().__post_init__()
        positive_int("eval-pairs", self.eval_pairs)
        if self.rouge_tokenize not in (None, *TOKENIZERS):
            raise UserInputError(f"rouge_tokenize must be one of {TOKENIZERS} or null; got {self.rouge_tokenize!r}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise UserInputError(f"label_smoothing must be in [0, 1); got {self.label_smoothing}")


@keras.saving.register_keras_serializable(package="keras_llm")
class MaskedSparseCrossEntropy(keras.losses.Loss):
    """Mean cross-entropy over the non-padding tokens of a batch, with optional label smoothing.

    With smoothing ``ε`` the target distribution is ``(1 - ε)`` on the label plus ``ε / vocab``
    everywhere. The mean divides by the number of real tokens, so padding changes nothing.

    Call arguments:
        y_true: int ``(batch, tgt_len)``, 0 = padding; y_pred: logits ``(batch, tgt_len, vocab)``.

    Example:
        >>> MaskedSparseCrossEntropy(label_smoothing=0.1)([[4, 0]], logits)
    """

    def __init__(self, label_smoothing=0.0, pad_id=0, name="masked_sparse_cross_entropy", **kwargs):
        kwargs.pop("reduction", None)
        super().__init__(name=name, reduction="sum", **kwargs)
        self.label_smoothing = float(label_smoothing)
        self.pad_id = int(pad_id)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        nll = -ops.squeeze(ops.take_along_axis(log_probs, ops.expand_dims(y_true, -1), axis=-1), -1)
        if self.label_smoothing:
            nll = (1.0 - self.label_smoothing) * nll - self.label_smoothing * ops.mean(log_probs, axis=-1)
        mask = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
        # Per-token share of the batch mean; the "sum" reduction adds them up.
        return nll * mask / ops.maximum(ops.sum(mask), 1.0)

    def get_config(self):
        config = super().get_config()
        config.pop("reduction", None)
        return {**config, "label_smoothing": self.label_smoothing, "pad_id": self.pad_id}


def compile_translator(model, config):
    """Compile ``model`` (built) with AdamW, warm-up + cosine schedule, masked loss and accuracy."""
    schedule = warmup_cosine_schedule(config.learning_rate, config.steps, config.warmup_steps,
                                      config.min_learning_rate)
    model.compile(
        optimizer=make_adamw(model, schedule, config.weight_decay, config.beta_1, config.beta_2,
                             config.global_clipnorm),
        loss=MaskedSparseCrossEntropy(config.label_smoothing),
        metrics=[MaskedTokenAccuracy()],
        **compile_options(config.jit_compile, config.steps_per_execution,
                          align_to=(config.eval_interval, config.steps)))
    return model


def train_translator(model, train, valid, run_dir, config, callbacks=(), verbose=1, vocabularies=None):
    """``model.fit`` for ``config.steps`` steps on a repeating ``train`` dataset.

    Args:
        model: a compiled translator (see :func:`compile_translator`).
        train: ``tf.data`` of ``(inputs, labels)`` that repeats; valid: a finite one.
        run_dir: the run directory (``logs/``, ``backup/``, ``best.keras``, ``final.keras``).
        config: a :class:`TranslatorTrainingConfig`.
        callbacks: extra callbacks (e.g. :class:`TranslationMetricsCallback`), run before TensorBoard.
        vocabularies: ``(source, target)`` token names by id (the tokenizers' ``vocabulary``), to
            label the attention maps in TensorBoard; without them tokens are labelled by id.

    Returns:
        the Keras ``History``.
    """
    vocabulary = dict(zip((SOURCE, TARGET), vocabularies)) if vocabularies else None
    return fit_in_intervals(model, train, valid.take(config.eval_batches), run_dir, config, list(callbacks),
                            verbose, vocabulary)
