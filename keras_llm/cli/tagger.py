"""`keras-llm` commands of the tagger task (a plug-in of keras_llm/cli/main.py).

- ``keras-llm train <token-classifier recipe> [--train FILE] [--valid FILE] [--format conll|conllu]
  [--tag-column upos|xpos|N] [--backbone bert|bilstm|minilm] [--init-from DIR] [--epochs N] ...``
- ``keras-llm tag RUN_DIR --text "..." [--text ...] [--pretokenized]``: one line per word,
  ``word<TAB>tag<TAB>score``, a blank line after each text. Texts are split into words by the
  serving rule (whitespace, and every punctuation character on its own; see
  :mod:`keras_llm.data.token_alignment`); with ``--pretokenized`` at whitespace only, each
  token taken as given (``"U.S."`` stays one word).
- ``keras-llm evaluate RUN_DIR --test FILE [--output-dir DIR] [--pretokenized]``: word accuracy,
  per-tag and (BIO/BIOES) entity P/R/F1 on a tagged CoNLL file, whose gold tokens are always
  tagged as given (see :mod:`keras_llm.runs.tagger_evaluation`); ``--pretokenized`` says so and
  refuses a file that is not CoNLL.
- ``keras-llm predict RUN_DIR --input FILE --output FILE [--format F] [--text-column C] [--pretokenized]``:
  a CoNLL file with a predicted-tag column appended, or a CSV/TSV/JSONL table with its texts'
  words and tags; with ``--pretokenized`` a table's texts are split at whitespace only, and a
  plain text file (``*.txt``, one pre-tokenised sentence per line) is written as CoNLL.
- ``keras-llm export RUN_DIR``: a SavedModel (see :mod:`keras_llm.export.tagger`).
"""

from keras_llm.cli.arguments import (
    LORA_OPTIONS,
    add_text_command,
    check_backbone_choice,
    epoch_training_overrides,
    given,
    lora_training_overrides,
)
from keras_llm.cli.file_options import add_input_format_option, add_option_once, add_text_column_option
from keras_llm.data.conll import FORMATS
from keras_llm.errors import UserInputError

RECIPE_KINDS = ("token-classifier",)
TRAIN_OPTIONS = frozenset({"train_file", "valid_file", "init_from", "epochs", "max_length", "num_layers", "hidden_dim",
                           "data_format", "tag_column", "backbone", *LORA_OPTIONS})
EVALUATE_OPTIONS = frozenset({"pretokenized"})
PREDICT_OPTIONS = frozenset({"text_column", "input_format", "pretokenized"})
PRETOKENIZED_HELP = "taggers: the text is already split into tokens: split at whitespace only, tag each token as given"


def add_train_arguments(train_parser):
    """Add this task's options to `keras-llm train`.

    The shared ones (--train, --valid, --init-from, --epochs, --batch-size, --learning-rate,
    --max-length, --num-layers, --hidden-dim, --seed, --no-jit) are reused, not re-added.
    """
    group = train_parser.add_argument_group("token-classifier recipes (tagger, bert-pos-ewt, bilstm-pos-ewt, ...)")
    group.add_argument("--format", dest="data_format", choices=FORMATS,
                       help="conll (token<TAB>tag) or conllu; default: from the file name (*.conllu)")
    group.add_argument("--tag-column", help="CoNLL-U tag column: upos (default), xpos or a 1-based number")


def add_predict_arguments(predict_parser):
    add_text_column_option(predict_parser)
    add_input_format_option(predict_parser)
    add_option_once(predict_parser, "--pretokenized", action="store_true",
                                help=PRETOKENIZED_HELP + " (tables' texts; *.txt: one sentence per line)")


def add_evaluate_arguments(evaluate_parser):
    add_option_once(evaluate_parser, "--pretokenized", action="store_true",
                                 help="taggers: score the test file's gold tokens as given (the file must be CoNLL)")


def evaluate(args, run_info):
    from keras_llm.runs.tagger_evaluation import evaluate_tagger_file

    evaluate_tagger_file(args.run_dir, args.test_file, output_dir=args.output_dir, batch_size=args.batch_size,
                         pretokenized=args.pretokenized)


def predict(args, run_info):
    from keras_llm.runs.tagger_files import predict_tagger_file

    predict_tagger_file(args.run_dir, args.input_file, args.output_file, batch_size=args.batch_size,
                        text_column=args.text_column, input_format=args.input_format,
                        pretokenized=args.pretokenized)


def add_commands(commands):
    """Add this task's subcommands; return {command name: handler(args)}."""
    tag = add_text_command(commands, "tag", "tag the words of texts with a trained token-classifier run")
    tag.add_argument("--pretokenized", action="store_true", help=PRETOKENIZED_HELP)
    return {"tag": _tag}


def train(args):
    from keras_llm.runs.tagger import train_tagger_run

    check_backbone_choice(args)
    run_dir, _ = train_tagger_run(
        args.recipe, run_dir=args.run_dir, train_file=args.train_file, valid_file=args.valid_file,
        init_from=args.init_from, tag_column=args.tag_column, data_format=args.data_format,
        training_overrides={**epoch_training_overrides(args), **lora_training_overrides(args)},
        model_overrides=_model_overrides(args),
        verbose=args.verbose, backbone=args.backbone)
    print(f"done. Tag: keras-llm tag {run_dir} --text '...'   TensorBoard: tensorboard --logdir {run_dir}/logs")
    return run_dir


def _model_overrides(args):
    """--num-layers / --hidden-dim as the recipe's model_config overrides; refused where nothing would read them.

    A pretrained encoder (--init-from, or the recipe's init_from) keeps its own shape, and only a
    BERT encoder can be one; a BiLSTM's width is its ``units`` (state width per direction).
    """
    from keras_llm.runs import load_recipe
    from keras_llm.runs.backbones import apply_backbone

    recipe, _ = apply_backbone(load_recipe(args.recipe), args.recipe, args.backbone, args.init_from)
    backbone = recipe.get("model_config", {}).get("backbone", "bert")
    init_from = args.init_from or recipe.get("init_from")
    if args.init_from and backbone != "bert":
        raise UserInputError(f"--init-from: recipe {args.recipe!r} trains a {backbone} tagger; only a BERT "
                             f"tagger starts from a pretrained encoder (e.g. recipe 'tagger')")
    shape = given(args, "num_layers", "hidden_dim")
    if init_from and shape:
        names = " and ".join(f"--{name.replace('_', '-')}" for name in shape)
        raise UserInputError(f"{names}: the pretrained encoder {init_from} keeps its own shape; leave them out, "
                             f"or train a tagger from scratch (recipe 'tagger' without --init-from)")
    if backbone == "bilstm" and "hidden_dim" in shape:
        shape["units"] = shape.pop("hidden_dim")
    return shape


def tag_texts(model, tokenizer, run_info, texts, pretokenized=False):
    """``[(words, tags, scores)]`` for raw ``texts``: words split by the serving rule, or with
    ``pretokenized`` at whitespace only (each token tagged as given)."""
    import tensorflow as tf

    from keras_llm.data.token_alignment import split_text_into_words
    from keras_llm.training.tagger import predict_tags

    max_length = run_info["training"]["max_length"]
    if pretokenized:
        # A word has at least one piece, so words past max_length - 2 could never be tagged.
        words = [text.split()[:max_length - 2] for text in texts]
    else:
        words = [[w.decode("utf-8") for w in row] for row in
                 split_text_into_words(tf.constant(texts, tf.string), max_words=max_length - 2).to_list()]
    ids, scores = predict_tags(model, tokenizer, words, max_length)
    tags = run_info["tags"]
    return [(row, [tags[i] if i >= 0 else "" for i in row_ids], row_scores)
            for row, row_ids, row_scores in zip(words, ids, scores)]


def _tag(args):
    from keras_llm.runs.tagger import load_tagger_run

    model, tokenizer, run_info = load_tagger_run(args.run_dir)
    for words, tags, scores in tag_texts(model, tokenizer, run_info, args.text, args.pretokenized):
        for word, tag, score in zip(words, tags, scores):
            if tag:  # words past max_length are truncated away and not printed
                print(f"{word}\t{tag}\t{score:.3f}")
        print()


def export(args, run_info):
    from keras_llm.export.tagger import export_tagger
    from keras_llm.runs.tagger import load_tagger_run

    model, tokenizer, run_info = load_tagger_run(args.run_dir)
    path = export_tagger(model, tokenizer, run_info["tags"], run_info["training"]["max_length"],
                         base_dir=args.base_dir, name=args.name or run_info["recipe"])
    print(f"exported to {path}")
