"""Masked-language-model pretraining with ``model.fit`` (dynamic masking in tf.data)."""

import keras
import keras_hub

from keras_llm.data.masked_lm import masked_lm_dataset
from keras_llm.errors import UserInputError
from keras_llm.training.language_model import fit_in_intervals
from keras_llm.training.optimizers import make_adamw, warmup_cosine_schedule
from keras_llm.training.runtime import compile_options


def train_masked_lm(model, tokenizer, lines, run_dir, config, max_length=128, verbose=1):
    """Pretrain ``model`` (from ``build_bert_masked_lm``) on text ``lines``.

    The last 10% of the lines (by position) validate, with masks drawn once and then kept,
    so every evaluation scores the same masked tokens. Reports masked-token accuracy and
    perplexity (both over masked positions only).

    Args:
        config: a :class:`~keras_llm.training.TrainingConfig` (steps, batch size, schedule, ...).
        max_length: sequence length including [CLS]/[SEP].

    Returns:
        the Keras ``History``.
    """
    lines = [line for line in lines if line.strip()]
    cut = int(len(lines) * 0.9)
    if cut < 1 or len(lines) - cut < 1:
        raise UserInputError(f"need at least 2 non-empty lines to pretrain and validate; got {len(lines)}")
    train = masked_lm_dataset(tokenizer, lines[:cut], max_length, config.batch_size, seed=config.seed)
    valid = masked_lm_dataset(tokenizer, lines[cut:], max_length, config.batch_size, shuffle=False,
                              repeat=False).take(config.eval_batches).cache()
    schedule = warmup_cosine_schedule(config.learning_rate, config.steps, config.warmup_steps,
                                      config.min_learning_rate)
    model.compile(
        optimizer=make_adamw(model, schedule, config.weight_decay, config.beta_1, config.beta_2,
                             config.global_clipnorm),
        # Average over the real (weight-1) predictions only, so exp(loss) is the masked perplexity.
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight"),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="masked_accuracy"),
                          keras_hub.metrics.Perplexity(from_logits=True)],
        **compile_options(True if config.jit_compile is None else config.jit_compile, config.steps_per_execution,
                          align_to=(config.eval_interval, config.steps)),
    )
    return fit_in_intervals(model, train, valid, run_dir, config, verbose=verbose, vocabulary=tokenizer.vocabulary)
