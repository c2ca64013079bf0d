"""Which `keras-llm train` options a run uses, and a resumed run keeps the options it started with.

- A shared option the recipe's task does not read (``--steps`` for a recipe counted in epochs) is
  refused in one line instead of being silently ignored; several are named in the same line.
  tests/cli/test_every_train_flag.py holds every flag of `train --help` to this, recipe by recipe.
- A new run records the options the user gave in ``<run_dir>/cli_options.json``. Resuming it
  (``--resume DIR`` or ``train`` on a run in progress) takes them from there (``--no-jit`` and
  ``--precision`` too, since they change the numbers), so an interrupted
  ``--corpus small.txt --steps 400`` run resumes on small.txt for 400 steps; an option given again
  with another value is refused, since the run would silently become a different run.

Example:
    >>> check_given_options(args, train_parser, plugin.TRAIN_OPTIONS, "bert-classifier")
    >>> args = honour_saved_options(args, train_parser)
"""

import json
import os

from keras_llm.errors import UserInputError
from keras_llm.files import atomic_write_text, read_json_object

OPTIONS_FILE = "cli_options.json"
# Read by `train` itself or by every task; how and where to run may change on resume.
UNIVERSAL = {"help", "command", "recipe", "run_dir", "resume", "overwrite", "batch_size", "learning_rate", "seed",
             "no_jit", "strategy", "tpu", "precision", "steps_per_execution", "log_every",
             "histograms", "cpu_replicas", "max_minutes"}
# Where and how fast to run; a resumed run may change these. XLA and precision are not among them:
# they change the numbers (and XLA the batch shapes), so a resumed run keeps them too. A time budget
# is how long to run *now*: a resumed run gets its own (the --max-minutes given, else the recipe's).
RUNTIME_ONLY = {"help", "command", "run_dir", "resume", "overwrite", "strategy", "tpu", "steps_per_execution",
                "cpu_replicas", "max_minutes"}


def _flags(train_parser):
    """``{dest: "--flag"}`` of the parser's options (argparse keeps no public list of its actions)."""
    return {action.dest: action.option_strings[0] for action in train_parser._actions if action.option_strings}


def _given_options(args, train_parser):
    """``{dest: (flag, value)}`` of the options the user set (a value other than the default)."""
    found = {}
    for action in train_parser._actions:
        if not action.option_strings:
            continue
        value = getattr(args, action.dest, None)
        if value is not None and value is not False and value != action.default:
            found[action.dest] = (action.option_strings[0], value)
    return found


# What a user probably meant when a recipe does not read the option given (the first one it reads).
_INSTEAD = {"epochs": ("steps",), "steps": ("epochs",), "corpus": ("pairs", "train_file"),
            "train_file": ("corpus",), "pairs": ("train_file", "corpus")}


def check_given_options(args, train_parser, honoured, recipe_name):
    """Refuse options that the recipe's task would ignore, every one of them in one line.

    Example message: ``--epochs and --train are not used by recipe 'gpt-shakespeare-char'
    (use --steps instead of --epochs; use --corpus instead of --train)``.
    """
    flags = _flags(train_parser)
    given = _given_options(args, train_parser)
    unused = {dest: flag for dest, (flag, _) in given.items() if dest not in UNIVERSAL and dest not in honoured}
    if unused:
        hints = []
        for dest, flag in unused.items():
            instead = next((other for other in _INSTEAD.get(dest, ()) if other in honoured), None)
            if instead:
                hints.append(f"use {flags[instead]}" + (f" instead of {flag}" if len(unused) > 1 else ""))
        names = list(unused.values())
        subject = f"{names[0]} is" if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]} are"
        raise UserInputError(f"{subject} not used by recipe {recipe_name!r} "
                             f"({'; '.join(hints) if hints else 'see `keras-llm train --help`'})")
    if "tpu" in given and args.strategy not in ("tpu", "auto"):
        raise UserInputError(f"--tpu is only used with --strategy tpu (or auto), not with --strategy {args.strategy}")


def honour_saved_options(args, train_parser):
    """A resumed run takes its recorded options; a new run records them. Returns ``args``."""
    path = os.path.join(args.run_dir, OPTIONS_FILE)
    given = {dest: value for dest, (_, value) in _given_options(args, train_parser).items() if dest not in RUNTIME_ONLY}
    # Until run.json exists nothing was trained: a start that failed before it (a wrong path, say)
    # must not pin its options on the next attempt.
    if not os.path.isfile(path) or not os.path.isfile(os.path.join(args.run_dir, "run.json")):
        atomic_write_text(path, json.dumps(given, indent=2, sort_keys=True))
        return args
    saved = read_json_object(path)
    flags = _flags(train_parser)
    for dest in sorted(set(given) | set(saved)):
        if dest in given and given[dest] != saved.get(dest):
            before = f"{flags.get(dest, dest)} {saved[dest]}" if dest in saved else f"no {flags.get(dest, dest)}"
            raise UserInputError(f"{args.run_dir} was started with {before}; a resumed run keeps its own settings "
                                 f"(leave out {flags.get(dest, dest)}, or train into a new run directory)")
        setattr(args, dest, saved[dest])
    return args
