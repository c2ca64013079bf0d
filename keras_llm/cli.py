"""The ``keras-llm`` command: train, generate, export, zoo."""

import argparse
import sys

import keras_llm  # noqa: F401  (selects the TensorFlow backend before Keras loads)
from keras_llm.errors import UserInputError


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_float(text):
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _parser():
    parser = argparse.ArgumentParser(prog="keras-llm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a zoo recipe (see `keras-llm zoo`)")
    train.add_argument("recipe")
    train.add_argument("--run-dir", help="where logs and checkpoints go (default runs/<recipe>); "
                                         "an existing run directory is resumed")
    train.add_argument("--corpus", help="train on this UTF-8 text file instead of the bundled corpus")
    train.add_argument("--steps", type=_positive_int)
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--learning-rate", type=_positive_float)
    train.add_argument("--eval-interval", type=_positive_int, help="steps between evaluations")
    train.add_argument("--eval-batches", type=_positive_int)
    train.add_argument("--seed", type=int)
    train.add_argument("--no-jit", action="store_true", help="do not XLA-compile the training step")
    train.add_argument("--tokenizer", choices=["char", "bpe"], help="override the recipe's tokenizer")
    train.add_argument("--max-length", type=_positive_int, help="context length")
    train.add_argument("--num-layers", type=_positive_int)
    train.add_argument("--hidden-dim", type=_positive_int)

    generate = commands.add_parser("generate", help="continue a prompt with a trained run")
    generate.add_argument("run_dir")
    generate.add_argument("--prompt", action="append", help="repeat for a batch (default: a newline)")
    generate.add_argument("--max-new-tokens", type=_non_negative_int, default=200)
    generate.add_argument("--strategy", choices=["greedy", "sample"], default="sample")
    generate.add_argument("--temperature", type=_positive_float, default=0.8)
    generate.add_argument("--top-k", type=_non_negative_int, default=200)
    generate.add_argument("--top-p", type=float, default=1.0)
    generate.add_argument("--seed", type=int)
    generate.add_argument("--no-cache", action="store_true", help="recompute every step (slow; for checking)")
    generate.add_argument("--num-beams", type=_positive_int, default=1,
                          help="beam search with this many beams (prompt + new tokens must fit the context)")
    generate.add_argument("--length-penalty", type=float, default=1.0, help="beam search length penalty")

    export = commands.add_parser("export", help="write a TF Serving SavedModel (text in, text out)")
    export.add_argument("run_dir")
    export.add_argument("--name", help="model name under the base directory (default: the recipe name)")
    export.add_argument("--base-dir", default="saved_models")

    commands.add_parser("zoo", help="list the recipes")
    return parser


def _train(args):
    from keras_llm.zoo import train_gpt_run

    training = {key: value for key, value in {
        "steps": args.steps, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
        "eval_interval": args.eval_interval, "eval_batches": args.eval_batches, "seed": args.seed,
    }.items() if value is not None}
    if args.no_jit:
        training["jit_compile"] = False
    model = {key: value for key, value in {
        "max_length": args.max_length, "num_layers": args.num_layers, "hidden_dim": args.hidden_dim,
    }.items() if value is not None}
    tokenizer = {"kind": args.tokenizer} if args.tokenizer else None
    run_dir, _ = train_gpt_run(args.recipe, run_dir=args.run_dir, corpus=args.corpus,
                               training_overrides=training, model_overrides=model, tokenizer_overrides=tokenizer)
    print(f"done. Generate: keras-llm generate {run_dir} --prompt 'ROMEO:'   "
          f"TensorBoard: tensorboard --logdir {run_dir}/logs")


def _generate(args):
    from keras_llm.generation import beam_generate, generate
    from keras_llm.zoo import load_gpt_run

    model, tokenizer, _ = load_gpt_run(args.run_dir)
    prompts = args.prompt or ["\n"]
    if args.num_beams > 1:
        completions = beam_generate(model, tokenizer, prompts, args.max_new_tokens, num_beams=args.num_beams,
                                    length_penalty=args.length_penalty)
    else:
        completions = generate(model, tokenizer, prompts, args.max_new_tokens, strategy=args.strategy,
                               temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                               use_cache=not args.no_cache)
    for prompt, completion in zip(prompts, completions):
        print(prompt + completion)
        if len(prompts) > 1:
            print("-" * 40)


def _export(args):
    from keras_llm.export import export_text_generator
    from keras_llm.zoo import load_gpt_run

    model, tokenizer, run_info = load_gpt_run(args.run_dir)
    sample = run_info.get("sample", {})
    path = export_text_generator(
        model, tokenizer, base_dir=args.base_dir, name=args.name or run_info["recipe"],
        max_new_tokens=int(sample.get("max_new_tokens", 100)), temperature=float(sample.get("temperature", 0.8)),
        top_k=int(sample.get("top_k", 200)))
    print(f"exported to {path}")


def _zoo(args):
    from keras_llm.zoo import list_recipes, load_recipe

    for name in list_recipes():
        print(f"{name:28s} {load_recipe(name).get('description', '')}")


def main(argv=None):
    args = _parser().parse_args(argv)
    handlers = {"train": _train, "generate": _generate, "export": _export, "zoo": _zoo}
    try:
        handlers[args.command](args)
    except UserInputError as error:
        print(f"keras-llm: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
