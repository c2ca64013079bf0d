"""`keras-llm compare`: several models on one split with one budget, and a report (keras_llm.experiments).

    keras-llm compare --corpus FILE [--valid HELD_OUT] [--tokenizer word --min-count N] [--models gpt,lstm,gru,ngram]
        [--steps N | --max-minutes M] ...
    keras-llm compare --task classify --train FILE [--valid FILE] [--models bert,bilstm,gru,bow] ...
"""

from keras_llm.cli.arguments import add_old_spelling, finite_float, given
from keras_llm.errors import UserInputError

RECIPE_KINDS = ()
TRAIN_OPTIONS = frozenset()


def add_commands(commands):
    compare = commands.add_parser(
        "compare", help="train GPT/LSTM/GRU/N-gram on one corpus (or, with --task classify, BERT/BiLSTM/GRU/"
                        "bag-of-n-grams classifiers on one labelled table) with one split and budget; write a report")
    compare.add_argument("--task", choices=("lm", "classify"), default="lm",
                         help="lm: language models on --corpus (default); classify: text classifiers on --train")
    compare.add_argument("--corpus", help="lm: UTF-8 text file (first 90%% trains, last 10%% validates unless --valid)")
    compare.add_argument("--train", dest="train_file", help="classify: CSV/TSV with a header row")
    compare.add_argument("--valid", dest="valid_file",
                         help="lm: held-out UTF-8 text every model is scored on, with the vocabulary of --corpus "
                              "(default: the last 10%% of --corpus); classify: validation CSV/TSV (default: a "
                              "stratified 10%% split of --train)")
    compare.add_argument("--text-column", help="classify: text column (default text)")
    compare.add_argument("--label-column", help="classify: label column (default label)")
    compare.add_argument("--epochs", type=int,
                         help="classify: most epochs per neural model (default 5)")
    compare.add_argument("--tokenizer", help="char, word or bpe (default char)")
    compare.add_argument("--min-count", type=int,
                         help="word: keep tokens seen at least N times in the training text (default 2); the rest "
                              "are [UNK]")
    compare.add_argument("--models", help="comma-separated (default gpt,lstm,gru,ngram; classify: bert,bilstm,gru,bow)")
    compare.add_argument("--params", type=int,
                         help="parameters of each neural model, ±25%% (default: baby GPT, ~0.8M)")
    compare.add_argument("--steps", type=int, help="optimizer steps per neural model (default 2000)")
    # The same spellings as `train`/`evaluate` for the same ideas; the old ones still work, with a warning.
    compare.add_argument("--max-minutes", dest="minutes", type=finite_float,
                         help="training wall time per neural model instead of --steps")
    compare.add_argument("--output-dir", dest="out_dir", help="where report.md and report.png go")
    compare.add_argument("--max-length", dest="sequence_length", type=int, help="context length in tokens")
    for old, new in (("--minutes", "--max-minutes"), ("--out-dir", "--output-dir"),
                     ("--sequence-length", "--max-length")):
        add_old_spelling(compare, old, new)
    compare.add_argument("--batch-size", type=int)
    compare.add_argument("--eval-interval", type=int, help="steps between evaluations (default steps/10)")
    compare.add_argument("--eval-batches", type=int)
    compare.add_argument("--ngram-order", type=int, help="N of the N-gram model (default 5 for char, else 3)")
    compare.add_argument("--seed", type=int)
    compare.add_argument("--sample-tokens", type=int, help="length of each model's sample")
    compare.add_argument("--no-jit", action="store_true", help="no XLA (faster start for tiny runs)")
    return {"compare": _compare}


def _compare(args):
    # Defaults live in the settings classes only; the CLI passes what the user gave.
    if args.task == "classify":
        from keras_llm.experiments.compare_classify import ClassifierComparisonSettings, compare_classifiers

        if not args.train_file:
            raise UserInputError("compare --task classify needs --train FILE (a CSV/TSV with a header row)")
        settings = ClassifierComparisonSettings(
            valid_path=args.valid_file, jit_compile=not args.no_jit, verbose=2,
            **given(args, "out_dir", "text_column", "label_column", "models", "epochs", "seed"))
        settings.command = _classify_command(args.train_file, settings)
        compare_classifiers(args.train_file, settings)
        print(f"report written to {settings.out_dir}/report.md")
        return
    from keras_llm.experiments.compare_lm import LMComparisonSettings, compare_language_models

    if not args.corpus:
        raise UserInputError("compare needs --corpus FILE (or --task classify --train FILE)")
    settings = LMComparisonSettings(
        jit_compile=False if args.no_jit else None, verbose=2, valid_path=args.valid_file,
        **given(args, "tokenizer", "min_count", "models", "params", "steps", "minutes", "out_dir", "sequence_length",
                "batch_size", "seed", "ngram_order", "eval_interval", "eval_batches", "sample_tokens"))
    settings.command = _lm_command(args.corpus, settings)
    compare_language_models(args.corpus, settings)


def _lm_command(corpus, s):
    """The `keras-llm compare` line that reproduces checked settings ``s`` (every resolved value spelled out)."""
    parts = ["keras-llm compare", f"--corpus {corpus}"] + ([f"--valid {s.valid_path}"] if s.valid_path else [])
    parts += [f"--tokenizer {s.tokenizer}"] + ([f"--min-count {s.min_count}"] if s.tokenizer == "word" else [])
    parts += [f"--models {','.join(s.models)}"]
    parts += [f"--params {s.params}"] if s.params else []
    parts += [f"--steps {s.steps}"] if s.steps else [f"--max-minutes {s.minutes:g}"]
    parts += [f"--output-dir {s.out_dir}", f"--max-length {s.sequence_length}", f"--batch-size {s.batch_size}",
              f"--seed {s.seed}", f"--eval-interval {s.eval_interval}", f"--eval-batches {s.eval_batches}"]
    parts += [f"--ngram-order {s.ngram_order}"] if "ngram" in s.models else []
    parts += [f"--sample-tokens {s.sample_tokens}"]
    parts += ["--no-jit"] if s.jit_compile is False else []
    return " ".join(parts)


def _classify_command(train_file, s):
    """The `keras-llm compare --task classify` line that reproduces checked settings ``s``."""
    parts = ["keras-llm compare --task classify", f"--train {train_file}"]
    parts += [f"--valid {s.valid_path}"] if s.valid_path else []
    parts += [f"--text-column {s.text_column}", f"--label-column {s.label_column}", f"--models {','.join(s.models)}",
              f"--epochs {s.epochs}", f"--seed {s.seed}"]
    parts += ["--no-jit"] if not s.jit_compile else []
    return " ".join(parts)
