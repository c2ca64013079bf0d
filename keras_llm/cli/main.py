"""The ``keras-llm`` command: train, evaluate, predict, generate, classify, translate, tag, embed, export, compare, zoo.

`main` knows the generic commands (`train`, `export`, `zoo`); each task brings its recipes'
``model:`` kinds, its own commands and its `train`/`export` steps as a plug-in module (listed in
:data:`PLUGINS`; see keras_llm/cli/gpt.py for the smallest one). A plug-in defines:

- ``RECIPE_KINDS``: the recipe ``model:`` values it trains;
- ``TRAIN_OPTIONS``: the shared `train` options it honours (others given by the user are refused);
- ``add_commands(subparsers)`` → ``{command: handler(args)}``, and optionally
  ``add_train_arguments(train_parser)``;
- ``train(args)`` → run directory, and ``export(args, run_info)``;
- ``evaluate(args, run_info)`` and ``predict(args, run_info)`` for `keras-llm evaluate` / `predict`;
  task-specific options come from optional ``add_evaluate_arguments(parser)`` /
  ``add_predict_arguments(parser)``, and the plug-in lists the ones it reads in
  ``EVALUATE_OPTIONS`` / ``PREDICT_OPTIONS`` (others given by the user are refused).
"""

import argparse
import importlib
import os
import sys

import keras_llm  # noqa: F401  (selects the TensorFlow backend before Keras loads)
from keras_llm.cli.arguments import add_shared_train_arguments, positive_float, positive_int
from keras_llm.cli.run_options import check_given_options, honour_saved_options
from keras_llm.cli.stderr_filter import filtered_stderr
from keras_llm.errors import UserInputError
from keras_llm.files import user_fixable_reason

PLUGINS = ("keras_llm.cli.gpt", "keras_llm.cli.classifier", "keras_llm.cli.masked_lm", "keras_llm.cli.translator",
           "keras_llm.cli.tagger", "keras_llm.cli.embed", "keras_llm.cli.compare", "keras_llm.cli.compress",
           "keras_llm.cli.search", "keras_llm.cli.qa")


class _OneLineErrorParser(argparse.ArgumentParser):
    """Bad arguments give one line on stderr (not the usage block) and exit code 2, like every other error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _plugins():
    return [importlib.import_module(name) for name in PLUGINS]


def _plugin_for(kind):
    plugin = next((module for module in _plugins() if kind in module.RECIPE_KINDS), None)
    if plugin is None:
        raise UserInputError(f"no keras-llm task trains {kind!r} models")
    return plugin


def _add_train_command(commands):
    train = commands.add_parser("train", help="train a zoo recipe (see `keras-llm zoo`)")
    train.add_argument("recipe")
    train.add_argument("--run-dir", help="where logs and checkpoints go (default runs/<recipe>); a run in progress "
                                         "there is resumed, a finished one is refused (see --overwrite)")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue an interrupted run from its last backup, with the run's own settings")
    train.add_argument("--overwrite", action="store_true",
                       help="train again in a finished run directory (the old run is moved aside, not deleted)")
    train.add_argument("--batch-size", type=positive_int)
    train.add_argument("--learning-rate", type=positive_float)
    train.add_argument("--seed", type=int)
    train.add_argument("--no-jit", action="store_true", help="do not XLA-compile the training step")
    scale = train.add_argument_group("scale out (docs/distributed.md)")
    scale.add_argument("--strategy", default="auto",
                       help="auto (default), default, mirrored, multi_worker (TF_CONFIG) or tpu; "
                            "--batch-size stays the global batch: per-replica batch × replicas")
    scale.add_argument("--tpu", help="TPU name or grpc:// address for --strategy tpu (default: from the TPU VM)")
    scale.add_argument("--precision", default="float32",
                       help="float32 (default), mixed_bfloat16 or mixed_float16 (with loss scaling)")
    scale.add_argument("--cpu-replicas", type=positive_int,
                       help="split the CPU into N logical devices and replicate over them (--strategy mirrored "
                            "on a machine without GPUs; set before TensorFlow starts)")
    scale.add_argument("--steps-per-execution", type=positive_int,
                       help="optimizer steps per call into the compiled training function (default 1)")
    add_shared_train_arguments(train)
    return train


def _parser():
    parser = _OneLineErrorParser(prog="keras-llm", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = _add_train_command(commands)
    export = commands.add_parser("export", help="write a TF Serving SavedModel (text in, text out)")
    export.add_argument("run_dir")
    export.add_argument("--name", help="model name under the base directory (default: the recipe name)")
    export.add_argument("--base-dir", default="saved_models")
    export.add_argument("--xla", action="store_true",
                        help="generators and translators: make the XLA-compiled signature serving_default "
                             "(TF Serving then needs --xla_cpu_compilation_enabled; docs/serving.md)")
    commands.add_parser("zoo", help="list the recipes")
    evaluate, predict = _add_file_commands(commands)
    handlers = {"train": _train, "export": _export, "zoo": _zoo,
                "evaluate": lambda args: _run_file_command(args, evaluate, "evaluate"),
                "predict": lambda args: _run_file_command(args, predict, "predict")}
    for plugin in _plugins():
        if hasattr(plugin, "add_train_arguments"):
            plugin.add_train_arguments(train)
        for command, parser_of_command in (("evaluate", evaluate), ("predict", predict)):
            if hasattr(plugin, f"add_{command}_arguments"):
                getattr(plugin, f"add_{command}_arguments")(parser_of_command)
        handlers.update(plugin.add_commands(commands))
    return parser, train, handlers


# Options of `evaluate` / `predict` that every task reads; the rest belong to one task.
_FILE_COMMAND_OPTIONS = {"help", "run_dir", "test_file", "output_dir", "input_file", "output_file", "batch_size"}


def _add_file_commands(commands):
    """`keras-llm evaluate` and `keras-llm predict`: a trained run applied to a file, for every task."""
    evaluate = commands.add_parser("evaluate", help="score a trained run on a held-out file (metrics.json + report)")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--test", dest="test_file", required=True,
                          help="held-out file, in the format the run's task trains on")
    evaluate.add_argument("--output-dir", help="where metrics.json and plots go (default RUN_DIR/evaluation/<file>)")
    evaluate.add_argument("--batch-size", type=positive_int, help="examples per batch (default: the run's)")
    predict = commands.add_parser("predict", help="label a file with a trained run (streamed in batches)")
    predict.add_argument("run_dir")
    predict.add_argument("--input", dest="input_file", required=True, help="CSV/TSV/JSONL (or text) file to label")
    predict.add_argument("--output", dest="output_file", required=True,
                         help="written in the input's format, with prediction columns appended")
    predict.add_argument("--batch-size", type=positive_int, help="examples per batch (default: the run's)")
    return evaluate, predict


def _run_file_command(args, parser, command):
    """Dispatch `evaluate`/`predict` to the plug-in of the run's task, refusing options that task ignores."""
    from keras_llm.runs.layout import read_run_info

    run_info = read_run_info(args.run_dir)
    plugin = _plugin_for(run_info.get("model"))
    if not hasattr(plugin, command):
        raise UserInputError(f"keras-llm {command} does not handle {run_info.get('model')} runs")
    honoured = _FILE_COMMAND_OPTIONS | set(getattr(plugin, f"{command.upper()}_OPTIONS", ()))
    for action in parser._actions:  # argparse keeps no public list of its options
        value = getattr(args, action.dest, None)
        if action.option_strings and action.dest not in honoured and value not in (None, False, action.default):
            raise UserInputError(f"{action.option_strings[0]} is not used when a {run_info.get('model')} run "
                                 f"is given to `keras-llm {command}`")
    return getattr(plugin, command)(args, run_info)


def _train(args, train_parser):
    from keras_llm._quiet import silenced_stderr
    from keras_llm.distribute import get_strategy, per_replica_batch_size
    from keras_llm.runs import load_recipe
    from keras_llm.runs.layout import default_run_dir
    from keras_llm.runs.lifecycle import open_run
    from keras_llm.training.runtime import check_precision, training_runtime

    recipe = load_recipe(args.recipe)
    plugin = _plugin_for(recipe.get("model"))
    if args.resume:
        _check_resumable(args.resume, args.recipe, recipe.get("model"))
        args.run_dir = args.resume
    args.run_dir = args.run_dir or default_run_dir(args.recipe)
    # A progress bar redraws itself with carriage returns: fine on a terminal, hundreds of KB in a log file.
    args.verbose = 1 if sys.stdout.isatty() else 2
    check_given_options(args, train_parser, plugin.TRAIN_OPTIONS, args.recipe)
    check_precision(args.precision)
    _check_not_finished(args)
    # The strategy starts the TensorFlow runtime: a multi-worker strategy (and --cpu-replicas) must
    # come before anything else starts it (collective ops and devices are configured at start-up).
    with silenced_stderr():
        strategy = get_strategy(args.strategy, tpu=args.tpu, cpu_replicas=args.cpu_replicas)
    # Several workers: only the chief writes args.run_dir; the others train in a private copy.
    with open_run(args.run_dir, recipe.get("model"), overwrite=args.overwrite, strategy=strategy) as args.run_dir:
        args = honour_saved_options(args, train_parser)
        with training_runtime(strategy, precision=args.precision):
            per_replica_batch_size(args.batch_size or recipe.get("training", {}).get("batch_size", 1), strategy)
            run_dir = plugin.train(args)
    _note_time_limit(args)
    return run_dir


def _note_time_limit(args):
    """A run its time budget stopped early is resumable: say how (it is not an error)."""
    from keras_llm.runs.layout import read_run_info_if_any
    from keras_llm.runs.lifecycle import STOPPED

    info = read_run_info_if_any(args.run_dir) if os.path.isdir(args.run_dir) else None
    if info and info.get("status") == STOPPED:
        trained = info["trained"]
        print(f"stopped on the time limit ({trained['max_minutes']:g} minutes) after {trained['steps']} of "
              f"{trained['planned_steps']} planned steps; to train on: keras-llm train {args.recipe} --resume "
              f"{args.run_dir} [--max-minutes M] (best.keras is what evaluate, predict and export use meanwhile)")


def _check_not_finished(args):
    from keras_llm.runs.lifecycle import FINISHED, run_state

    if not args.overwrite and run_state(args.run_dir) == FINISHED:
        raise UserInputError(f"{args.run_dir} holds a finished run; train into a new --run-dir, or pass --overwrite "
                             f"to move the old run aside to {args.run_dir.rstrip('/')}.old-N and start again")


def _check_resumable(run_dir, recipe_name, kind):
    from keras_llm.runs.layout import read_run_info
    from keras_llm.runs.lifecycle import FINISHED, NEW, run_state

    state = run_state(run_dir)
    if state == NEW:
        raise UserInputError(f"--resume {run_dir}: not a run directory (no run.json); start it with --run-dir instead")
    if state == FINISHED:
        raise UserInputError(f"--resume {run_dir}: that run has finished; nothing to resume")
    found = read_run_info(run_dir).get("model")
    if found != kind:
        raise UserInputError(f"--resume {run_dir}: that run trained a {found} model, but recipe {recipe_name!r} "
                             f"trains a {kind} model")


def _export(args):
    from keras_llm.export.versions import check_model_name
    from keras_llm.runs.layout import read_run_info

    for plugin in _plugins():  # a directory that is not a run (a search index) is exported by its plug-in
        if getattr(plugin, "exports_directory", lambda path: False)(args.run_dir):
            return plugin.export_directory(args)
    run_info = read_run_info(args.run_dir)
    check_model_name(args.name or run_info.get("recipe"))  # before loading anything
    plugin = _plugin_for(run_info.get("model"))
    if args.xla and not getattr(plugin, "EXPORTS_XLA", False):
        raise UserInputError(f"--xla: {run_info.get('model')} exports have no XLA-compiled signatures "
                             f"(only GPT generators and translators have them)")
    return plugin.export(args, run_info)


def _zoo(args):
    from keras_llm.runs import list_recipes, load_recipe

    for name in list_recipes():
        print(f"{name:28s} {load_recipe(name).get('description', '')}")


def _check_text_arguments(args):
    """Command-line text that is not valid UTF-8 reaches Python as lone surrogates: refuse it in one line."""
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise UserInputError(f"--{name.replace('_', '-')} is not valid UTF-8 text") from None


def main(argv=None):
    with filtered_stderr():
        return _main(argv)


def _main(argv):
    from keras_llm._quiet import silenced_stderr

    parser, train_parser, handlers = _parser()
    args = parser.parse_args(argv)
    try:
        _check_text_arguments(args)
        if args.command == "train":
            _train(args, train_parser)
            return 0
        import tensorflow as tf

        with silenced_stderr():  # start the runtime before the command, so its C++ notes stay off stderr
            tf.config.list_logical_devices()
        handlers[args.command](args)
    except UserInputError as error:
        print(f"keras-llm: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001  (only a full disk or a permission problem becomes one line)
        reason = user_fixable_reason(error)
        if reason is None:
            raise
        where = getattr(error, "filename", None)
        print(f"keras-llm: error: cannot write{' ' + str(where) if where else ''}: {reason}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
