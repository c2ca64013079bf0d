"""`keras-llm` commands of the text-classifier task: `train <classifier recipe>`, `classify`, `export`.

    keras-llm train bert-classifier --train FILE [--valid FILE] [--text-column C] [--label-column C]
                                    [--init-from DIR|package:NAME|RUN_DIR] [--epochs N] ...
    keras-llm classify RUN_DIR --text "..." [--text ...]
    keras-llm evaluate RUN_DIR --test FILE.csv [--output-dir DIR] [--text-column C] [--label-column C]
    keras-llm predict RUN_DIR --input FILE.csv|.tsv|.jsonl --output FILE [--text-column C]
    keras-llm export RUN_DIR
"""

from keras_llm.cli.arguments import add_text_command, epoch_training_overrides
from keras_llm.cli.file_options import add_input_format_option, add_option_once, add_text_column_option

RECIPE_KINDS = ("bert-classifier",)
TRAIN_OPTIONS = frozenset({"train_file", "valid_file", "text_column", "label_column", "init_from", "epochs",
                           "max_length"})
EVALUATE_OPTIONS = frozenset({"text_column", "label_column"})
PREDICT_OPTIONS = frozenset({"text_column", "input_format"})


def add_commands(commands):
    """Add `keras-llm classify`; return {command name: handler(args)}."""
    add_text_command(commands, "classify", "label texts with a trained classifier run")
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

    run_dir, _ = train_classifier_run(
        args.recipe, run_dir=args.run_dir, train_file=args.train_file, valid_file=args.valid_file,
        text_column=args.text_column, label_column=args.label_column, init_from=args.init_from,
        training_overrides=epoch_training_overrides(args), verbose=args.verbose)
    print(f"done. Classify: keras-llm classify {run_dir} --text '...'   "
          f"TensorBoard: tensorboard --logdir {run_dir}/logs")
    return run_dir


def _classify(args):
    import keras
    import numpy as np

    from keras_llm.runs.classifier import load_classifier_run

    model, tokenizer, run_info = load_classifier_run(args.run_dir)
    inputs = tokenizer.encode_batch(args.text, max_length=run_info["training"]["max_length"])
    probabilities = np.asarray(keras.ops.softmax(model(inputs, training=False), axis=-1))
    for text, row in zip(args.text, probabilities):
        best = int(np.argmax(row))
        print(f"{run_info['labels'][best]}\t{row[best]:.3f}\t{text}")


def export(args, run_info):
    from keras_llm.export import export_text_classifier
    from keras_llm.runs.classifier import load_classifier_run

    model, tokenizer, run_info = load_classifier_run(args.run_dir)
    path = export_text_classifier(model, tokenizer, run_info["labels"], run_info["training"]["max_length"],
                                  base_dir=args.base_dir, name=args.name or run_info["recipe"])
    print(f"exported to {path}")
