"""`keras-llm train <masked-LM recipe>`: pretrain a small BERT, to fine-tune with `--init-from RUN_DIR`.

    keras-llm train bert-mlm [--corpus FILE] [--steps N] ...
"""

from keras_llm.cli.arguments import step_training_overrides
from keras_llm.errors import UserInputError

RECIPE_KINDS = ("bert-mlm",)
TRAIN_OPTIONS = frozenset({"corpus", "steps", "eval_interval", "eval_batches"})


def add_commands(commands):
    return {}


def train(args):
    from keras_llm.runs.masked_lm import train_mlm_run

    run_dir, _ = train_mlm_run(args.recipe, run_dir=args.run_dir, corpus=args.corpus,
                               training_overrides=step_training_overrides(args), verbose=args.verbose)
    print(f"done. Fine-tune: keras-llm train bert-classifier --train FILE --init-from {run_dir}")
    return run_dir


def export(args, run_info):
    raise UserInputError(f"{args.run_dir} is a masked-LM pretraining run; export the classifier you fine-tune "
                         f"from it (keras-llm train bert-classifier --train FILE --init-from {args.run_dir})")
