"""Train a next-token model on a token stream with ``model.fit``.

One "epoch" here is one evaluation interval (nanoGPT's ``eval_interval``): after every
``eval_interval`` steps Keras evaluates a fixed validation set, TensorBoard logs the validation
metrics and attention maps at that step, checkpoints are written, and a text sample is taken;
the training loss and learning rate reach TensorBoard every ``log_every`` steps.
"""

import dataclasses

import keras
import keras_hub

from keras_llm.checks import positive_int
from keras_llm.data import language_model_dataset, split_train_validation, validation_dataset
from keras_llm.errors import UserInputError
from keras_llm.models.gpt import POSITION_EMBEDDING
from keras_llm.training.callbacks import TextSampleCallback, time_budget_seconds
from keras_llm.training.lora import check_lora_settings
from keras_llm.training.optimizers import OPTIMIZERS, make_optimizer, warmup_cosine_schedule
from keras_llm.training.progress import progress_callbacks
from keras_llm.training.resume import logged_history
from keras_llm.training.run_callbacks import TensorBoardSettings, run_callbacks, run_paths, save_final_model
from keras_llm.training.runtime import compile_options


@dataclasses.dataclass
class TrainingConfig:
    """How to train; defaults are nanoGPT's CPU "baby GPT" recipe."""

    steps: int = 2000
    batch_size: int = 12
    learning_rate: float = 1e-3
    min_learning_rate: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    beta_1: float = 0.9
    beta_2: float = 0.99
    global_clipnorm: float = 1.0
    # "adamw", or "muon" (keras_llm.training.optimizers.MatrixMuon: the kernels orthogonalised, the rest AdamW).
    optimizer: str = "adamw"
    eval_interval: int = 250
    eval_batches: int = 20
    seed: int = 1337
    # None = automatic: XLA for Transformers; off for recurrent models, whose scan runs
    # about 2x slower under XLA on CPU (measured: 20 LSTM steps 14.5 s jitted vs 5.1 s not).
    jit_compile: bool | None = None
    steps_per_execution: int = 1
    # TensorBoard (docs/tensorboard.md): a training-loss point every log_every steps; weight and
    # gradient-norm histograms at each evaluation only when asked (`--histograms`): they cost time.
    log_every: int = 20
    histograms: bool = False
    # Attention maps in TensorBoard at each evaluation (about half a second per attention layer).
    attention_images: bool = True
    # Wall-time budget: training stops once it is spent (the best checkpoint is kept); None = no limit.
    max_minutes: float | None = None
    # LoRA (keras_llm.training.lora): adapters of this rank on every projection, the rest frozen; None = off.
    lora_rank: int | None = None
    lora_alpha: float | None = None

    def __post_init__(self):
        for name in ("steps", "batch_size", "eval_interval", "eval_batches", "steps_per_execution", "log_every"):
            positive_int(name, getattr(self, name))
        time_budget_seconds(self.max_minutes)
        check_lora_settings(self.lora_rank, self.lora_alpha)
        if self.learning_rate <= 0:
            raise UserInputError(f"learning_rate must be positive; got {self.learning_rate}")
        if self.optimizer not in OPTIMIZERS:
            raise UserInputError(f"unknown optimizer {self.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
        self.eval_interval = min(self.eval_interval, self.steps)


def _has_position_table(model):
    return any(layer.name == POSITION_EMBEDDING for layer in model.layers)


def _context_length(model):
    if _has_position_table(model):
        return model.get_layer(POSITION_EMBEDDING).max_length
    raise UserInputError("this model has no position table; pass sequence_length to train_language_model")


def train_language_model(model, token_ids, run_dir, config, sample_fn=None, verbose=1, sequence_length=None,
                         callbacks=None, vocabulary=None):
    """Fit ``model`` (token ids → logits) on windows of ``token_ids``.

    Args:
        model: an uncompiled ``keras.Model`` mapping ids ``(batch, seq)`` to logits ``(batch, seq, vocab)``.
        token_ids: 1-D int array of the whole corpus (split 90/10 by position here).
        run_dir: directory for TensorBoard logs, backups (resume) and ``.keras`` files.
        config: a :class:`TrainingConfig`.
        sample_fn: optional ``() -> str`` called at each evaluation for a text sample.
        verbose: Keras verbosity (1 = progress bar).
        sequence_length: training window; defaults to the model's position table size
            (needed for models without one, such as RNNs).
        callbacks: extra Keras callbacks (they run before TensorBoard, so what they add to
            the logs is logged).
        vocabulary: the tokenizer's token names by id (``tokenizer.vocabulary``), to label the
            attention maps in TensorBoard; without it tokens are labelled by id.

    Returns:
        the Keras ``History``.
    """
    sequence_length = sequence_length or _context_length(model)
    train_ids, valid_ids = split_train_validation(token_ids)
    train = language_model_dataset(train_ids, sequence_length, config.batch_size, seed=config.seed)
    valid = validation_dataset(valid_ids, sequence_length, config.batch_size, config.eval_batches)
    schedule = warmup_cosine_schedule(config.learning_rate, config.steps, config.warmup_steps,
                                      config.min_learning_rate)
    model.compile(
        optimizer=make_optimizer(config.optimizer, model, schedule, config.weight_decay, config.beta_1,
                                 config.beta_2, config.global_clipnorm),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras_hub.metrics.Perplexity(from_logits=True)],
        **compile_options(_has_position_table(model) if config.jit_compile is None else config.jit_compile,
                          config.steps_per_execution, align_to=(config.eval_interval, config.steps)),
    )
    extra = list(callbacks or [])
    if sample_fn is not None:
        extra.append(TextSampleCallback(sample_fn, run_paths(run_dir)["logs"], config.eval_interval,
                                        verbose=bool(verbose)))
    return fit_in_intervals(model, train, valid, run_dir, config, extra, verbose, vocabulary)


def fit_in_intervals(model, train, valid, run_dir, config, extra_callbacks=(), verbose=1, vocabulary=None):
    """``model.fit`` for ``config.steps`` steps in epochs of ``config.eval_interval`` steps.

    Adds the run's standard callbacks (resume backup, best checkpoint by val loss, NaN stop,
    history.csv, TensorBoard last so it sees what the others add to the logs; attention maps of
    the first validation example, labelled with ``vocabulary``) and saves ``final.keras``.
    ``train`` must be an endless, deterministic stream: when the run resumes after a crash, the
    batches of the completed epochs are skipped, so the resumed run sees exactly the batches an
    uninterrupted run would have seen.
    """
    paths = run_paths(run_dir)
    callbacks, guard, resumed_steps = run_callbacks(
        run_dir, config.eval_interval, extra_callbacks, tensorboard=TensorBoardSettings.of(config, valid, vocabulary),
        max_minutes=config.max_minutes)
    train = train.skip(resumed_steps)
    epochs = -(-config.steps // config.eval_interval)
    # Our progress display instead of Keras' (verbose=0): it ends an epoch cut short at the step reached.
    history = model.fit(train, epochs=epochs, steps_per_epoch=config.eval_interval, validation_data=valid,
                        callbacks=[*callbacks, *progress_callbacks(verbose)], verbose=0,
                        shuffle=False)  # the datasets shuffle themselves
    guard.raise_if_diverged(paths["best"])  # never save diverged weights as final.keras
    save_final_model(model, paths["final"])
    history.history = logged_history(paths["history"])  # the epochs before a resume too
    return history
