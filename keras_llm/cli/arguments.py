"""argparse value types shared by `keras-llm` and its task modules (one-line messages on bad values).

Example:
    >>> parser.add_argument("--steps", type=positive_int)
"""

import argparse


def _integer(text, what="an integer"):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_int(text):
    value = _integer(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def non_negative_int(text):
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def column_index(text):
    """A 0-based column number."""
    value = _integer(text, "a column number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"column numbers start at 0; got {value}")
    return value


def common_training_overrides(args):
    """The `keras-llm train` options every recipe shares, as training-config overrides (only those given)."""
    overrides = {key: value for key, value in {
        "batch_size": args.batch_size, "learning_rate": args.learning_rate, "seed": args.seed,
        "steps_per_execution": args.steps_per_execution}.items() if value is not None}
    if args.no_jit:
        overrides["jit_compile"] = False
    return overrides


def step_training_overrides(args):
    """Overrides for recipes counted in optimizer steps (GPT, masked LM, translator): the shared ones
    plus ``steps`` and the evaluation settings."""
    return {**common_training_overrides(args), **{key: value for key, value in {
        "steps": args.steps, "eval_interval": args.eval_interval, "eval_batches": args.eval_batches}.items()
        if value is not None}}
