"""`keras-llm` commands of the translator task (a plug-in of keras_llm/cli/main.py).

    keras-llm train translator --pairs FILE [--valid FILE] [--source-column N --target-column N]
    keras-llm train transformer-spa-eng
    keras-llm translate RUN_DIR --text "..." [--text ...] [--num-beams N] [--length-penalty X] [--max-new-tokens N]
    keras-llm export RUN_DIR
    keras-llm evaluate RUN_DIR --test pairs.tsv [--num-beams N] [--batch-size N] [--output-dir DIR]
    keras-llm predict RUN_DIR --input sources.txt --output translations.txt [--num-beams N]
"""


from keras_llm.cli.arguments import (
    add_text_command,
    column_index,
    finite_float,
    given,
    positive_int,
    step_training_overrides,
)
from keras_llm.cli.file_options import add_option_once, add_text_column_option
from keras_llm.errors import UserInputError

RECIPE_KINDS = ("transformer-seq2seq",)
EXPORTS_XLA = True  # `export --xla` picks the XLA-compiled serving_default
TRAIN_OPTIONS = frozenset({"pairs", "source_column", "target_column", "train_file", "valid_file", "steps",
                           "eval_interval", "eval_batches", "max_length", "num_layers", "hidden_dim"})
EVALUATE_OPTIONS = frozenset({"num_beams", "length_penalty", "max_new_tokens"})
PREDICT_OPTIONS = frozenset({"text_column", "num_beams", "length_penalty", "max_new_tokens"})


def add_train_arguments(train_parser):
    """Add this task's options to `keras-llm train` (the shared ones are reused: --valid, --steps, ...)."""
    group = train_parser.add_argument_group("translator recipes (translator, transformer-spa-eng)")
    group.add_argument("--pairs", help="UTF-8 TSV of sentence pairs, source<TAB>target, no header")
    group.add_argument("--source-column", type=column_index, help="0-based column of the source text (default 0)")
    group.add_argument("--target-column", type=column_index, help="0-based column of the target text (default 1)")


def _add_decoding_options(parser, beams_default):
    add_option_once(parser, "--num-beams", type=positive_int,
                    help=f"beam search with this many beams ({beams_default})")
    add_option_once(parser, "--length-penalty", type=finite_float, help="beam ranking: sum log p / length ** X")
    add_option_once(parser, "--max-new-tokens", type=positive_int,
                    help="new tokens at most (translators: default max_target_length - 1)")


def add_evaluate_arguments(parser):
    """`keras-llm evaluate` options of translator runs: greedy unless --num-beams is given."""
    _add_decoding_options(parser, "translators: default 1, greedy")


def add_predict_arguments(parser):
    """`keras-llm predict` options of translator runs: the recipe's decoding unless overridden."""
    add_text_column_option(parser)  # translator runs read the 'source' column/key unless it names another
    _add_decoding_options(parser, "default: the recipe's, as `translate`")


def evaluate(args, run_info):
    from keras_llm.runs.translator import decoding_options
    from keras_llm.runs.translator_files import evaluate_translator_run

    # Greedy unless asked: the score of the model itself, comparable between runs of any recipe.
    options = decoding_options(run_info.get("decode"), num_beams=args.num_beams or 1,
                               **given(args, "length_penalty", "max_new_tokens"))
    evaluate_translator_run(args.run_dir, args.test_file, options, output_dir=args.output_dir,
                            batch_size=args.batch_size)


def predict(args, run_info):
    from keras_llm.runs.translator import decoding_options
    from keras_llm.runs.translator_files import predict_translator_file

    options = decoding_options(run_info.get("decode"), **given(args, "num_beams", "length_penalty", "max_new_tokens"))
    predict_translator_file(args.run_dir, args.input_file, args.output_file, options, batch_size=args.batch_size,
                            text_column=args.text_column)


def add_commands(commands):
    """Add `keras-llm translate`; return {command name: handler(args)}."""
    parser = add_text_command(commands, "translate", "translate texts with a trained translator run")
    parser.add_argument("--num-beams", type=positive_int, help="1 = greedy (default: the recipe's)")
    parser.add_argument("--length-penalty", type=finite_float, help="beam ranking: sum log p / length ** X")
    parser.add_argument("--max-new-tokens", type=positive_int,
                        help="target tokens at most (default max_target_length - 1; at most max_target_length)")
    return {"translate": _translate}


def train(args):
    from keras_llm.runs import load_recipe
    from keras_llm.runs.translator import train_translator_run

    if args.pairs and args.train_file:
        raise UserInputError("--pairs and --train both name the training pairs; give one of them")
    if not (args.pairs or args.train_file) and not load_recipe(args.recipe).get("data", {}).get("pairs"):
        raise UserInputError(f"recipe {args.recipe!r} needs --pairs FILE (tab-separated source<TAB>target pairs)")
    training = step_training_overrides(args)
    model = {}
    if getattr(args, "max_length", None):
        model.update(max_source_length=args.max_length, max_target_length=args.max_length)
    if getattr(args, "num_layers", None):
        model.update(num_encoder_layers=args.num_layers, num_decoder_layers=args.num_layers)
    if getattr(args, "hidden_dim", None):
        model.update(hidden_dim=args.hidden_dim, intermediate_dim=4 * args.hidden_dim)
    run_dir, _ = train_translator_run(
        args.recipe, run_dir=args.run_dir, pairs_file=args.pairs or getattr(args, "train_file", None),
        valid_file=getattr(args, "valid_file", None), source_column=args.source_column,
        target_column=args.target_column, training_overrides=training, model_overrides=model, verbose=args.verbose)
    print(f"done. Translate: keras-llm translate {run_dir} --text '...'   "
          f"TensorBoard: tensorboard --logdir {run_dir}/logs")
    return run_dir


def _translate(args):
    from keras_llm.generation.seq2seq_search import translate
    from keras_llm.runs.translator import decoding_options, load_translator_run

    model, source_tokenizer, target_tokenizer, info = load_translator_run(args.run_dir)
    options = decoding_options(info.get("decode"), **given(args, "max_new_tokens", "num_beams", "length_penalty"))
    for translation in translate(model, source_tokenizer, target_tokenizer, args.text, options):
        print(translation)


def export(args, run_info):
    try:
        from keras_llm.export.translator import export_translator
    except ImportError:
        raise UserInputError("export of translators: not yet") from None
    from keras_llm.runs.translator import decoding_options, load_translator_run

    model, source_tokenizer, target_tokenizer, info = load_translator_run(args.run_dir)
    options = decoding_options(info.get("decode"))
    path = export_translator(model, source_tokenizer, target_tokenizer, info, base_dir=args.base_dir,
                             name=args.name or info["recipe"], options=options, xla=args.xla)
    print(f"exported to {path}")
