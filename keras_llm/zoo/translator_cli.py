"""`keras-llm` commands for the translator task (see keras_llm/cli.py, TASK_MODULES)."""

RECIPE_KINDS = ()


def add_train_arguments(train_parser):
    """Add this task's options to `keras-llm train`."""


def add_commands(commands):
    """Add this task's subcommands; return {command name: handler(args)}."""
    return {}


def train(args):
    raise NotImplementedError


def export(args, run_info):
    raise NotImplementedError
