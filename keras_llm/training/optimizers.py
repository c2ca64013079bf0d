"""Optimizer and learning-rate schedule factory."""

import keras

from keras_llm.errors import UserInputError


def warmup_cosine_schedule(learning_rate, total_steps, warmup_steps=0, min_learning_rate=0.0):
    """Linear warm-up from 0 to ``learning_rate``, then cosine decay to ``min_learning_rate``.

    This is nanoGPT's schedule, expressed with Keras' own ``CosineDecay`` (whose
    ``warmup_target`` does the linear ramp), so it serialises with the optimizer.

    Example:
        >>> schedule = warmup_cosine_schedule(1e-3, total_steps=2000, warmup_steps=100, min_learning_rate=1e-4)
        >>> float(schedule(2000))   # 1e-4
    """
    if learning_rate <= 0 or total_steps <= 0 or warmup_steps < 0:
        raise UserInputError("learning rate and steps must be positive (warm-up steps may be 0)")
    warmup_steps = min(int(warmup_steps), int(total_steps) - 1)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else learning_rate,
        decay_steps=max(int(total_steps) - warmup_steps, 1),
        alpha=min_learning_rate / learning_rate,
        warmup_target=learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def make_adamw(model, learning_rate, weight_decay=0.1, beta_1=0.9, beta_2=0.99, global_clipnorm=1.0):
    """AdamW that decays only matrices (≥ 2-D weights), as GPT-2/nanoGPT do.

    Biases and LayerNorm scales/offsets are excluded from weight decay because shrinking
    them toward zero only hurts. The model must be built (its variables exist).

    Args:
        model: a built ``keras.Model``.
        learning_rate: float or schedule.
        weight_decay, beta_1, beta_2: AdamW hyper-parameters.
        global_clipnorm: clip the norm of all gradients together (None to disable).
    """
    optimizer = keras.optimizers.AdamW(
        learning_rate=learning_rate, weight_decay=weight_decay, beta_1=beta_1, beta_2=beta_2,
        global_clipnorm=global_clipnorm)
    return _decay_matrices_only(optimizer, model)


def _decay_matrices_only(optimizer, model):
    """``optimizer`` with biases, norms and other vectors excluded from weight decay; returned."""
    optimizer.exclude_from_weight_decay(var_list=[v for v in model.trainable_variables if len(v.shape) < 2])
    return optimizer


def _as_matrix(shape):
    """The 2-D view of a kernel that Muon orthogonalises: attention kernels are 3-D in Keras
    (``(hidden, heads, head_dim)`` in, ``(heads, head_dim, hidden)`` out); their head axes are merged."""
    if len(shape) == 2:
        return tuple(shape)
    return (shape[0], shape[1] * shape[2]) if shape[0] >= shape[2] else (shape[0] * shape[1], shape[2])


@keras.saving.register_keras_serializable(package="keras_llm")
class MatrixMuon(keras.optimizers.Muon):
    """Keras' Muon (momentum orthogonalised by Newton–Schulz; Jordan et al. 2024, Moonlight's update
    scale) on every 2-D *and* 3-D kernel; embeddings, biases and norms take its AdamW path.

    Keras' Muon sends every kernel that is not 2-D to AdamW, which leaves out the query, key, value
    and output kernels of ``keras.layers.MultiHeadAttention``; here they are orthogonalised as the
    ``(hidden, heads * head_dim)`` matrices they are.

    Example:
        >>> optimizer = MatrixMuon(learning_rate=5e-3, weight_decay=0.1, adam_lr_ratio=1.0)
    """

    def _should_use_adamw(self, variable):
        if len(variable.shape) == 3 and "embedding" not in variable.path.lower():
            return False
        return super()._should_use_adamw(variable)

    # Keras' own update step (momentum, Nesterov, Newton–Schulz, scale) runs unchanged; only its two
    # matrix-shaped pieces see a 3-D kernel through its 2-D view.
    def zeropower_via_newtonschulz5(self, x, steps):
        orthogonalise = super().zeropower_via_newtonschulz5
        return _through_matrix_view(x, lambda matrix: orthogonalise(matrix, steps))

    def lr_adjust(self, x):
        return _through_matrix_view(x, super().lr_adjust)


def _through_matrix_view(x, function):
    """``function`` applied to the 2-D view of ``x`` (:func:`_as_matrix`), reshaped back."""
    if len(x.shape) == 2:
        return function(x)
    return keras.ops.reshape(function(keras.ops.reshape(x, _as_matrix(x.shape))), x.shape)


OPTIMIZERS = ("adamw", "muon")


def make_optimizer(kind, model, learning_rate, weight_decay=0.1, beta_1=0.9, beta_2=0.99, global_clipnorm=1.0):
    """``kind`` "adamw" (:func:`make_adamw`) or "muon" (:class:`MatrixMuon` on the kernels, AdamW at the
    same learning rate on the rest); weight decay on matrices only in both.

    Example:
        >>> optimizer = make_optimizer("muon", model, warmup_cosine_schedule(5e-3, 1000, 50, 5e-4))
    """
    if kind == "adamw":
        return make_adamw(model, learning_rate, weight_decay, beta_1, beta_2, global_clipnorm)
    if kind != "muon":
        raise UserInputError(f"unknown optimizer {kind!r}; expected one of {', '.join(OPTIMIZERS)}")
    optimizer = MatrixMuon(learning_rate=learning_rate, adam_beta_1=beta_1, adam_beta_2=beta_2,
                           weight_decay=weight_decay, adam_weight_decay=weight_decay, adam_lr_ratio=1.0,
                           global_clipnorm=global_clipnorm)
    return _decay_matrices_only(optimizer, model)


@keras.saving.register_keras_serializable(package="keras_llm")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to ``peak`` over ``warmup_steps``, then linear decay to 0 at ``total_steps``.

    The schedule BERT fine-tuning uses (Devlin et al.; Hugging Face's ``get_linear_schedule_with_warmup``).

    Example:
        >>> schedule = WarmupLinearDecay(5e-5, warmup_steps=500, total_steps=5000)
    """

    def __init__(self, peak, warmup_steps, total_steps):
        if peak <= 0 or total_steps <= 0 or warmup_steps < 0:
            raise UserInputError("learning rate and steps must be positive (warm-up steps may be 0)")
        self.peak = float(peak)
        self.warmup_steps = int(min(warmup_steps, total_steps))
        self.total_steps = int(total_steps)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warmup = step / max(self.warmup_steps, 1)
        decay = (self.total_steps - step) / max(self.total_steps - self.warmup_steps, 1)
        factor = keras.ops.where(step < self.warmup_steps, warmup, decay)
        return self.peak * keras.ops.clip(factor, 0.0, 1.0)

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps}


def warmup_steps_of(total_steps, warmup_fraction=None, warmup_steps=None):
    """How many of ``total_steps`` optimizer steps warm the learning rate up.

    A fraction of the run (``warmup_fraction``, e.g. 0.1) scales with the data: 500 fixed steps were
    the whole first epoch on 1,200 reviews, and MiniLM ended at chance (issue 19). An explicit
    ``warmup_steps`` (recipes and runs from before warm-up fractions; the taggers) takes precedence
    and keeps its old rule: at most half of the run, so a short run still spends its second half decaying.

    Example:
        >>> warmup_steps_of(750, warmup_fraction=0.1)
        75
        >>> warmup_steps_of(150, warmup_fraction=0.1, warmup_steps=500)   # capped at half the run
        75
    """
    if warmup_steps is not None:
        if warmup_steps < 0:
            raise UserInputError(f"warmup_steps must be >= 0; got {warmup_steps}")
        return min(int(warmup_steps), int(total_steps) // 2)
    check_warmup_fraction(warmup_fraction)
    return int(round(warmup_fraction * int(total_steps)))


def check_warmup_fraction(warmup_fraction):
    """Refuse a warm-up fraction outside [0, 1) (NaN included) in one line."""
    if not isinstance(warmup_fraction, (int, float)) or not 0.0 <= warmup_fraction < 1.0:
        raise UserInputError(f"warmup_fraction must be in [0, 1); got {warmup_fraction}")
