"""`keras-llm` commands of the seq2seq task (translators, summarizers, any text-to-text pairs; a plug-in
of keras_llm/cli/main.py).

    keras-llm train seq2seq --pairs FILE.tsv|FILE.jsonl [--valid FILE] [--source-column N --target-column N]
        [--source-field KEY --target-field KEY] [--init-from BERT_DIR|package:NAME]
    keras-llm train translator --pairs FILE [--valid FILE] [--source-column N --target-column N]
    keras-llm train transformer-spa-eng | summarize-scitldr | title-csl
    keras-llm translate RUN_DIR --text "..." [--text ...] [--num-beams N] [--length-penalty X] [--max-new-tokens N]
        [--min-new-tokens N] [--no-repeat-ngram-size N]        (`summarize` is the same command)
    keras-llm export RUN_DIR
    keras-llm evaluate RUN_DIR --test pairs.tsv [--num-beams N] [--batch-size N] [--output-dir DIR]
    keras-llm predict RUN_DIR --input sources.txt --output translations.txt [--num-beams N]
"""


from keras_llm.cli.arguments import (
    add_text_command,
    column_index,
    finite_float,
    given,
    non_negative_int,
    positive_int,
    step_training_overrides,
)
from keras_llm.cli.file_options import add_option_once, add_text_column_option
from keras_llm.data.jsonl_pairs import is_jsonl
from keras_llm.errors import UserInputError

RECIPE_KINDS = ("transformer-seq2seq",)
EXPORTS_XLA = True  # `export --xla` picks the XLA-compiled serving_default
TRAIN_OPTIONS = frozenset({"pairs", "source_column", "target_column", "source_field", "target_field", "train_file",
                           "valid_file", "steps", "eval_interval", "eval_batches", "max_length", "num_layers",
                           "hidden_dim", "init_from"})
_DECODING = ("num_beams", "length_penalty", "max_new_tokens", "min_new_tokens", "no_repeat_ngram_size")
EVALUATE_OPTIONS = frozenset(_DECODING)
PREDICT_OPTIONS = frozenset({"text_column", *_DECODING})


def add_train_arguments(train_parser):
    """Add this task's options to `keras-llm train` (the shared ones are reused: --valid, --steps, ...)."""
    group = train_parser.add_argument_group("seq2seq recipes (seq2seq, translator, transformer-spa-eng, "
                                            "summarize-scitldr, title-csl)")
    group.add_argument("--pairs", help="UTF-8 pairs: TSV source<TAB>target, no header; or JSON Lines (.jsonl)")
    group.add_argument("--source-column", type=column_index, help="TSV: 0-based column of the source text (default 0)")
    group.add_argument("--target-column", type=column_index, help="TSV: 0-based column of the target text (default 1)")
    group.add_argument("--source-field", help="JSONL: key of the source, a string or a list of sentences "
                                              "(default 'source')")
    group.add_argument("--target-field", help="JSONL: key of the target, a string or a list of references "
                                              "(default 'target')")


def _add_decoding_options(parser, beams_default):
    add_option_once(parser, "--num-beams", type=positive_int,
                    help=f"beam search with this many beams ({beams_default})")
    add_option_once(parser, "--length-penalty", type=finite_float, help="beam ranking: sum log p / length ** X")
    add_option_once(parser, "--max-new-tokens", type=positive_int,
                    help="new tokens at most (translators: default max_target_length - 1)")
    add_option_once(parser, "--min-new-tokens", type=non_negative_int,
                    help="seq2seq: the end token is barred until this many tokens are out")
    add_option_once(parser, "--no-repeat-ngram-size", type=non_negative_int,
                    help="seq2seq: never repeat an n-gram of this size in an output (0: off)")


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
                               **given(args, *_DECODING[1:]))
    evaluate_translator_run(args.run_dir, args.test_file, options, output_dir=args.output_dir,
                            batch_size=args.batch_size)


def predict(args, run_info):
    from keras_llm.runs.translator import decoding_options
    from keras_llm.runs.translator_files import predict_translator_file

    options = decoding_options(run_info.get("decode"), **given(args, *_DECODING))
    predict_translator_file(args.run_dir, args.input_file, args.output_file, options, batch_size=args.batch_size,
                            text_column=args.text_column)


def add_commands(commands):
    """Add `keras-llm translate` and `keras-llm summarize` (one command, two names); return {name: handler(args)}."""
    for name, help in (("translate", "translate texts with a trained seq2seq run (translator, summarizer, ...)"),
                       ("summarize", "summarize texts with a trained seq2seq run (the same as translate)")):
        parser = add_text_command(commands, name, help)
        parser.add_argument("--num-beams", type=positive_int, help="1 = greedy (default: the recipe's)")
        parser.add_argument("--length-penalty", type=finite_float, help="beam ranking: sum log p / length ** X")
        parser.add_argument("--max-new-tokens", type=positive_int,
                            help="target tokens at most (default max_target_length - 1; at most max_target_length)")
        parser.add_argument("--min-new-tokens", type=non_negative_int,
                            help="the end token is barred until this many tokens are out (default: the recipe's)")
        parser.add_argument("--no-repeat-ngram-size", type=non_negative_int,
                            help="never repeat an n-gram of this size (default: the recipe's; 0 = off)")
    return {"translate": _translate, "summarize": _translate}


def train(args):
    from keras_llm.runs import load_recipe
    from keras_llm.runs.translator import train_translator_run

    if args.pairs and args.train_file:
        raise UserInputError("--pairs and --train both name the training pairs; give one of them")
    recipe_pairs = load_recipe(args.recipe).get("data", {}).get("pairs")
    if not (args.pairs or args.train_file) and not recipe_pairs:
        raise UserInputError(f"recipe {args.recipe!r} needs --pairs FILE (TSV source<TAB>target, or JSON Lines)")
    _check_format_options(args, args.pairs or args.train_file or recipe_pairs)
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
        target_column=args.target_column, training_overrides=training, model_overrides=model, verbose=args.verbose,
        source_field=args.source_field, target_field=args.target_field, init_from=args.init_from)
    print(f"done. Translate: keras-llm translate {run_dir} --text '...'   "
          f"TensorBoard: tensorboard --logdir {run_dir}/logs")
    return run_dir


def _check_format_options(args, pairs):
    """--source-field/--target-field name JSONL keys, --source-column/--target-column TSV columns:
    the other kind for the file is refused (one line) rather than ignored."""
    jsonl = is_jsonl(pairs)
    wrong = [flag for flag, value, for_jsonl in (
        ("--source-field", args.source_field, True), ("--target-field", args.target_field, True),
        ("--source-column", args.source_column, False), ("--target-column", args.target_column, False))
        if value is not None and for_jsonl != jsonl]
    if wrong:
        kind, right = ("JSON Lines", "--source-field/--target-field") if jsonl else ("TSV", "--source-column/"
                                                                                            "--target-column")
        raise UserInputError(f"{' and '.join(wrong)} do not apply to {pairs}, which is read as {kind}; "
                             f"use {right}")


def _translate(args):
    from keras_llm.generation.seq2seq_search import translate
    from keras_llm.runs.translator import decoding_options, load_translator_run

    model, source_tokenizer, target_tokenizer, info = load_translator_run(args.run_dir)
    options = decoding_options(info.get("decode"), **given(args, *_DECODING))
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
