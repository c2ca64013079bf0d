"""`keras-llm quantize` and `keras-llm distill`: smaller models from trained runs (docs/compression.md).

    keras-llm quantize RUN_DIR [--mode int8] [--output NEW_RUN_DIR]
    keras-llm distill --teacher RUN_DIR --train FILE [--valid FILE] [--student bilstm|bert] [--temperature T]
                      [--alpha A] [--run-dir DIR] [--epochs N] ...

LoRA fine-tuning is a `train` option (`--lora-rank`), not a command of its own.
"""

import sys

from keras_llm.cli.arguments import positive_float, positive_int, probability

RECIPE_KINDS = ()
TRAIN_OPTIONS = frozenset()


def add_commands(commands):
    """Add `keras-llm quantize` and `keras-llm distill`; return {command name: handler(args)}."""
    quantize = commands.add_parser("quantize", help="a new run whose .keras models and exports are int8 "
                                                    "(post-training quantization of a finished run)")
    quantize.add_argument("run_dir")
    quantize.add_argument("--mode", default="int8", choices=["int8"], help="int8 (per-channel weights, default)")
    quantize.add_argument("--output", help="the new run directory (default RUN_DIR-int8)")
    distill = commands.add_parser("distill", help="train a small classifier on a classifier run's soft labels "
                                                  "(knowledge distillation)")
    distill.add_argument("--teacher", required=True, help="a finished classifier run (e.g. fine-tuned MiniLM)")
    distill.add_argument("--train", dest="train_file", required=True, help="CSV/TSV with a header row")
    distill.add_argument("--valid", dest="valid_file", help="validation file (default: a split of --train)")
    distill.add_argument("--text-column", help="default: the teacher's")
    distill.add_argument("--label-column", help="default: the teacher's")
    distill.add_argument("--student", choices=["bilstm", "bert"], default="bilstm",
                         help="bilstm (default) or a small BERT from scratch: recipe bert-classifier's backbones")
    distill.add_argument("--temperature", type=positive_float, help="softens both distributions (default 2)")
    distill.add_argument("--alpha", type=probability,
                         help="weight of the soft-label loss; 1 - alpha goes to the hard labels (default 0.5)")
    # Not dest="run_dir": for every other command but `train` that names a run to read, not one to write.
    distill.add_argument("--run-dir", dest="student_run_dir",
                         help="the student's run directory (default runs/distilled-<student>)")
    distill.add_argument("--epochs", type=positive_int)
    distill.add_argument("--batch-size", type=positive_int)
    distill.add_argument("--learning-rate", type=positive_float)
    distill.add_argument("--max-length", type=positive_int)
    distill.add_argument("--seed", type=int)
    distill.add_argument("--no-jit", action="store_true", help="do not XLA-compile the training step")
    return {"quantize": _quantize, "distill": _distill}


def _quantize(args):
    from keras_llm.runs.quantize import quantize_run

    output = quantize_run(args.run_dir, args.output, args.mode)
    print(f"done. The quantized run: {output} (evaluate, predict, export it as any run)")


def _distill(args):
    from keras_llm.cli.arguments import given
    from keras_llm.runs.distill import train_distilled_run

    overrides = given(args, "epochs", "batch_size", "learning_rate", "max_length", "seed")
    if args.no_jit:
        overrides["jit_compile"] = False
    run_dir = train_distilled_run(
        args.teacher, args.train_file, run_dir=args.student_run_dir or f"runs/distilled-{args.student}",
        valid_file=args.valid_file, text_column=args.text_column, label_column=args.label_column,
        student=args.student, temperature=args.temperature, alpha=args.alpha, training_overrides=overrides,
        verbose=1 if sys.stdout.isatty() else 2)  # one line per epoch in a log file, as `train` does
    print(f"done. Classify: keras-llm classify {run_dir} --text '...'")
