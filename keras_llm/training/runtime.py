"""Where and in what precision a training run executes: strategy scope + Keras dtype policy.

Example:
    >>> with training_runtime("auto", precision="mixed_bfloat16") as strategy:
    ...     model = build_gpt(config)          # variables float32, compute bfloat16
    ...     train_language_model(model, ids, "runs/x", TrainingConfig())

Under ``mixed_float16`` Keras wraps the optimizer in a ``LossScaleOptimizer`` at compile time
(``auto_scale_loss=True``), so small float16 gradients do not flush to zero. Our layers keep
the numerically delicate parts in float32 under any policy: attention softmax, LayerNorm
statistics (Keras computes them in float32) and the output logits.
"""

import contextlib
import math

import keras
import tensorflow as tf

from keras_llm.distribute import get_strategy
from keras_llm.errors import UserInputError

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def check_precision(precision):
    """Return ``precision`` if it is one of :data:`PRECISIONS`, else raise one clear line."""
    if precision not in PRECISIONS:
        raise UserInputError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    return precision


@contextlib.contextmanager
def precision_policy(precision):
    """Set the global Keras dtype policy for the block; the previous one is restored after."""
    check_precision(precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@contextlib.contextmanager
def training_runtime(strategy="default", precision="float32", tpu=None, log=print):
    """Build and train inside this block: yields the strategy with its scope entered.

    Args:
        strategy: a ``tf.distribute.Strategy`` or a kind for :func:`keras_llm.distribute.get_strategy`.
        precision: "float32", "mixed_bfloat16" or "mixed_float16".
        tpu: TPU name/address when ``strategy`` is "tpu" or "auto".
        log: receives the one-line strategy report.
    """
    check_precision(precision)
    if not isinstance(strategy, tf.distribute.Strategy):
        strategy = get_strategy(strategy, tpu=tpu, log=log)
    with precision_policy(precision), strategy.scope():
        yield strategy


def compile_options(jit_compile, steps_per_execution=1, *, align_to):
    """``model.compile`` keyword arguments for the current strategy.

    XLA stays on where it is asked for, except under a strategy with several replicas on one
    host: the training function then spans several devices, which XLA cannot compile
    (TensorFlow reports "Trying to access resource ... located in device CPU:1 from CPU:0").
    Multi-worker runs with one device per worker keep it.

    Args:
        jit_compile: the run's wish (bool).
        steps_per_execution: optimizer steps per call into the compiled function (fewer
            Python round trips; logs and callbacks then see every ``steps_per_execution`` steps).
        align_to: step counts every call must end on (the evaluation interval, the planned
            steps, an epoch's steps). Keras runs whole calls, so a call that crossed one of them would
            train past an evaluation (measured: ``--steps-per-execution 10`` with ``--eval-interval 2``
            trained other numbers than one step per call; 2 per call over 3-step epochs trained 4 steps
            in the first epoch and ran out of data in the last); the largest divisor of all of them is used.
            Required, so a new trainer cannot forget it (``()`` where there is nothing to end on).

    Example:
        >>> compile_options(True, 10, align_to=(250, 2000))["steps_per_execution"]   # 10
    """
    strategy = tf.distribute.get_strategy()
    local_replicas = len(strategy.extended.worker_devices) if tf.distribute.has_strategy() else 1
    return {"jit_compile": bool(jit_compile) and local_replicas == 1,
            "steps_per_execution": math.gcd(int(steps_per_execution), *(int(count) for count in align_to))}
