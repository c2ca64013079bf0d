"""`keras-llm` commands of the text-classifier task: `train <classifier recipe>`, `classify`, `export`.

    keras-llm train bert-classifier --train FILE [--valid FILE] [--text-column C] [--label-column C]
                                    [--backbone bert|bilstm|minilm]
                                    [--init-from DIR|package:NAME|RUN_DIR] [--epochs N]
                                    [--long-texts windows|truncate] [--pooling mean|max]
                                    [--window-stride N] [--max-windows N] [--warmup-fraction F] ...
    keras-llm classify RUN_DIR --text "..." [--text ...] [--long-texts ...] [--pooling ...]
    keras-llm evaluate RUN_DIR --test FILE.csv [--output-dir DIR] [--text-column C] [--label-column C]
    keras-llm predict RUN_DIR --input FILE.csv|.tsv|.jsonl --output FILE [--text-column C]
    keras-llm export RUN_DIR

Texts longer than the context are read as overlapping windows whose logits are pooled, unless the
run says ``long_texts: truncate`` (docs/long_documents.md); `classify` and the export read the run's
setting from run.json.
"""

import argparse
import sys

from keras_llm.cli.arguments import (
    LORA_OPTIONS,
    add_text_command,
    check_backbone_choice,
    epoch_training_overrides,
    finite_float,
    given,
    lora_training_overrides,
    positive_int,
)
from keras_llm.cli.file_options import add_input_format_option, add_option_once, add_text_column_option

RECIPE_KINDS = ("bert-classifier",)
LONG_TEXT_OPTIONS = ("long_texts", "pooling", "window_stride", "max_windows")
TRAIN_OPTIONS = frozenset({"train_file", "valid_file", "text_column", "label_column", "init_from", "epochs",
                           "max_length", "backbone", "warmup_fraction", *LONG_TEXT_OPTIONS, *LORA_OPTIONS})
EVALUATE_OPTIONS = frozenset({"text_column", "label_column"})
PREDICT_OPTIONS = frozenset({"text_column", "input_format"})


def _add_long_text_arguments(parser, settings_help):
    parser.add_argument("--long-texts", choices=["windows", "truncate"],
                        help="texts longer than the context: overlapping windows with pooled logits, or their "
                             f"first max-length tokens ({settings_help})")
    parser.add_argument("--pooling", choices=["mean", "max"], help=f"how window logits are pooled ({settings_help})")


def warmup_fraction(text):
    """A number in [0, 1): the share of the planned optimizer steps that warms the learning rate up."""
    value = finite_float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def add_train_arguments(train_parser):
    """Add the warm-up and long-text options of classifier recipes to `keras-llm train`."""
    train_parser.add_argument("--warmup-fraction", type=warmup_fraction,
                              help="classifier recipes: share of the planned steps spent warming the learning "
                                   "rate up (default: the recipe's)")
    group = train_parser.add_argument_group("classifier recipes: texts longer than --max-length")
    _add_long_text_arguments(group, "default: the recipe's, windows and mean")
    group.add_argument("--window-stride", type=positive_int,
                       help="word pieces between the starts of two windows (default: half a window)")
    group.add_argument("--max-windows", type=positive_int,
                       help="windows per text at most; past it they are spread evenly over the text (default 16)")


def add_commands(commands):
    """Add `keras-llm classify`; return {command name: handler(args)}."""
    classify = add_text_command(commands, "classify", "label texts with a trained classifier run")
    _add_long_text_arguments(classify, "default: the run's")
    return {"classify": _classify}


def add_evaluate_arguments(evaluate_parser):
    add_text_column_option(evaluate_parser)
    add_option_once(evaluate_parser, "--label-column", help="classifier runs: the column holding the gold labels "
                                                            "(default: the run's label column)")


def add_predict_arguments(predict_parser):
    add_text_column_option(predict_parser)
    add_input_format_option(predict_parser)


def evaluate(args, run_info):
    from keras_llm.runs.classifier_files import evaluate_classifier_file

    evaluate_classifier_file(args.run_dir, args.test_file, output_dir=args.output_dir, batch_size=args.batch_size,
                             text_column=args.text_column, label_column=args.label_column)


def predict(args, run_info):
    from keras_llm.runs.classifier_files import predict_classifier_file

    predict_classifier_file(args.run_dir, args.input_file, args.output_file, batch_size=args.batch_size,
                            text_column=args.text_column, input_format=args.input_format)


def train(args):
    from keras_llm.runs.classifier import train_classifier_run

    check_backbone_choice(args)
    run_dir, _ = train_classifier_run(
        args.recipe, run_dir=args.run_dir, train_file=args.train_file, valid_file=args.valid_file,
        text_column=args.text_column, label_column=args.label_column, init_from=args.init_from,
        training_overrides={**epoch_training_overrides(args), **lora_training_overrides(args),
                            **given(args, "warmup_fraction", *LONG_TEXT_OPTIONS)},
        verbose=args.verbose, backbone=args.backbone)
    print(f"done. Classify: keras-llm classify {run_dir} --text '...'   "
          f"TensorBoard: tensorboard --logdir {run_dir}/logs")
    return run_dir


def _classify(args):
    import numpy as np

    from keras_llm.data.pooled_prediction import classify_texts
    from keras_llm.data.windows import LongTexts
    from keras_llm.runs.classifier import load_classifier_run

    model, tokenizer, run_info = load_classifier_run(args.run_dir)
    max_length = run_info["training"]["max_length"]
    run_settings = LongTexts.from_training(run_info["training"])
    settings = LongTexts(args.long_texts or run_settings.mode, run_settings.stride, run_settings.max_windows,
                         args.pooling or run_settings.pooling)
    probabilities, too_long = classify_texts(model, tokenizer, args.text, max_length, settings)
    for text, row in zip(args.text, probabilities):
        best = int(np.argmax(row))
        print(f"{run_info['labels'][best]}\t{row[best]:.3f}\t{text}")
    if too_long:
        print(f"keras-llm: note: {too_long} of {len(args.text)} texts are longer than the {max_length}-token "
              f"context; {_how_read(settings, max_length)}", file=sys.stderr)


def _how_read(settings, max_length):
    if settings.mode == "truncate":
        return f"only their first {max_length} tokens were read"
    return f"each was read in overlapping windows (at most {settings.max_windows}), logits {settings.pooling}-pooled"


def export(args, run_info):
    from keras_llm.data.windows import LongTexts
    from keras_llm.export import export_text_classifier
    from keras_llm.runs.classifier import load_classifier_run

    model, tokenizer, run_info = load_classifier_run(args.run_dir)
    path = export_text_classifier(model, tokenizer, run_info["labels"], run_info["training"]["max_length"],
                                  base_dir=args.base_dir, name=args.name or run_info["recipe"],
                                  long_texts=LongTexts.from_training(run_info["training"]))
    print(f"exported to {path}")
