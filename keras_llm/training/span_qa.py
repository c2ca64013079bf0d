"""Fine-tuning a span reader with ``model.fit``: two position losses, AdamW, early stopping, the run's callbacks.

The loss is the sum of two sparse cross-entropies over positions (start and end; padding positions
carry -1e4 logits, so they need no mask), BERT's SQuAD objective up to a factor 2. Everything
else (optimizer, warm-up and decay, backup and exact resume, time budget, TensorBoard, best/final
checkpoints) is the classifiers' and taggers' set-up.
"""

import dataclasses
import warnings

import keras

from keras_llm.data.qa_training import span_dataset
from keras_llm.data.qa_windows import check_window_settings
from keras_llm.data.windows import LongTexts
from keras_llm.errors import UserInputError
from keras_llm.training.classifier import ClassifierTrainingConfig, fine_tuning_optimizer
from keras_llm.training.progress import progress_callbacks
from keras_llm.training.resume import logged_history
from keras_llm.training.run_callbacks import TensorBoardSettings, run_callbacks, run_paths, save_final_model
from keras_llm.training.runtime import compile_options


@dataclasses.dataclass
class QATrainingConfig(ClassifierTrainingConfig):
    """How to train a span reader: the classifier's fine-tuning set-up plus the window and answer limits.

    Args (besides :class:`~keras_llm.training.classifier.ClassifierTrainingConfig`'s):
        max_length: sequence length of a window, ``[CLS] question [SEP] context [SEP]``.
        window_stride: context pieces between the starts of two windows (BERT's ``doc_stride``;
            default: half of what a window holds after a question of ``max_question_length``).
        max_question_length: question pieces kept; at most half of what a window holds (a larger value is
            lowered to that, so a short ``max_length`` such as 64 still leaves room for the context).
        max_answer_length: longest answer, in pieces, that decoding considers.
    """

    max_length: int = 384
    max_question_length: int = 64
    max_answer_length: int = 30

    def __post_init__(self):
        if self.max_answer_length < 1:
            raise UserInputError(f"max_answer_length must be positive; got {self.max_answer_length}")
        if self.max_length < 5:
            raise UserInputError(f"max_length must be at least 5 ([CLS] question [SEP] context [SEP]); "
                                 f"got {self.max_length}")
        self.max_question_length = min(self.max_question_length, (self.max_length - 3) // 2)
        check_window_settings(self.max_length, self.stride, self.max_question_length)
        super().__post_init__()

    @property
    def long_text_settings(self):
        # The classifier's windows (pooled logits) are not how a reader reads: its windows clamp the stride
        # to each window's width (keras_llm.data.qa_windows), so a stride wider than a window skips nothing.
        return LongTexts("truncate")

    @property
    def stride(self):
        return self.window_stride or max(1, (self.max_length - 3 - self.max_question_length) // 2)

    @property
    def window_settings(self):
        """The keyword arguments of :func:`~keras_llm.data.span_answers.read_answers`."""
        return {"max_length": self.max_length, "stride": self.stride,
                "max_question_length": self.max_question_length, "max_answer_length": self.max_answer_length}


def span_losses():
    """Sparse cross-entropy over positions, one per output."""
    return {key: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for key in ("start_logits", "end_logits")}


def train_span_reader(model, train_windows, valid_windows, run_dir, config, verbose=1, vocabulary=None):
    """Fine-tune ``model`` (encoded inputs → start/end logits) on labelled windows.

    Args:
        model: an uncompiled span reader (:func:`~keras_llm.models.span_reader.build_span_reader`).
        train_windows, valid_windows: :func:`~keras_llm.data.qa_training.qa_training_windows` outputs.
        run_dir: where the run's files go (``run_callbacks``: backup, ``best.keras``, history, logs).
        config: a :class:`QATrainingConfig`.
        verbose: Keras verbosity (1 = progress bar).
        vocabulary: token names, for the attention maps in TensorBoard.

    Returns:
        the Keras ``History`` (the epochs before a resume too).
    """
    steps_per_epoch = max(1, -(-len(train_windows["token_ids"]) // config.batch_size))
    train_data = span_dataset(train_windows, config.batch_size, shuffle=True, seed=config.seed, epochs=config.epochs)
    valid_data = span_dataset(valid_windows, config.eval_batch_size)
    model.compile(optimizer=fine_tuning_optimizer(model, config, steps_per_epoch), loss=span_losses(),
                  metrics={key: ["sparse_categorical_accuracy"] for key in ("start_logits", "end_logits")},
                  **compile_options(config.jit_compile, config.steps_per_execution, align_to=(steps_per_epoch,)))
    stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True,
                                             verbose=int(bool(verbose)))
    callbacks, guard, resumed_steps = run_callbacks(
        run_dir, steps_per_epoch, [stopping], tensorboard=TensorBoardSettings.of(config, valid_data, vocabulary),
        max_minutes=config.max_minutes)
    with warnings.catch_warnings():
        # The backbone's pooler is kept (so the encoder can seed a classifier later) but unused here.
        warnings.filterwarnings("ignore", message=r"Gradients do not exist for variables \['pooler")
        history = model.fit(train_data.skip(resumed_steps), validation_data=valid_data,
                            epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                            callbacks=[*callbacks, *progress_callbacks(verbose)], verbose=0, shuffle=False)
    paths = run_paths(run_dir)
    guard.raise_if_diverged(paths["best"])
    save_final_model(model, paths["final"])
    history.history = logged_history(paths["history"])
    return history
