"""`keras-llm` commands of the language-model task (GPT and RNN LMs): `train <recipe>`, `generate`, `export`.

    keras-llm train gpt-shakespeare-char [--corpus FILE] [--steps N] [--tokenizer char|word|bpe] [--min-count N] ...
    keras-llm train gpt-shakespeare-char --init-from HF_GPT2_DIR|RUN_DIR --corpus FILE [--max-length N] ...
    keras-llm train lstm-lm --corpus train.txt [--tokenizer word] [--min-count N] [--max-length N] ...
    keras-llm generate RUN_DIR --prompt "ROMEO:" [--max-new-tokens N] [--decoding greedy|sample] ...
    keras-llm export RUN_DIR [--name NAME] [--base-dir DIR] [--xla]
    keras-llm evaluate RUN_DIR --test held_out.txt [--stride N] [--batch-size N] [--output-dir DIR]
    keras-llm evaluate RNN_LM_RUN_DIR --test held_out.txt --cache-window 1000
    keras-llm predict RUN_DIR --input prompts.txt --output completions.txt [--max-new-tokens N] [--decoding greedy]

Decoding defaults come from the run's recipe (its ``sample:`` section), never from copies here.
"""

from keras_llm.cli.arguments import (
    LORA_OPTIONS,
    add_old_spelling,
    finite_float,
    given,
    lora_training_overrides,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
    step_training_overrides,
)
from keras_llm.cli.file_options import add_option_once, add_text_column_option
from keras_llm.errors import UserInputError

RECIPE_KINDS = ("gpt", "rnn_lm")
EXPORTS_XLA = True  # `export --xla` picks the XLA-compiled serving_default (GPT runs; an RNN LM refuses it)
TRAIN_OPTIONS = frozenset({"corpus", "steps", "eval_interval", "eval_batches", "tokenizer", "min_count", "max_length",
                           "num_layers", "hidden_dim", "init_from", *LORA_OPTIONS})
EVALUATE_OPTIONS = frozenset({"stride", "cache_window"})
PREDICT_OPTIONS = frozenset({"text_column", "max_new_tokens", "decoding", "temperature", "top_k", "top_p", "seed",
                             "num_beams", "length_penalty"})


def add_commands(commands):
    """Add `keras-llm generate`; return {command name: handler(args)}."""
    generate = commands.add_parser("generate", help="continue a prompt with a trained run")
    generate.add_argument("run_dir")
    generate.add_argument("--prompt", action="append", help="repeat for a batch (default: the recipe's prompt)")
    generate.add_argument("--max-new-tokens", type=non_negative_int, help="default: the recipe's")
    # Spelled --decoding, not --strategy: under `train`, --strategy is the tf.distribute strategy.
    generate.add_argument("--decoding", dest="strategy", choices=["greedy", "sample"],
                          help="default: the recipe's (sample)")
    add_old_spelling(generate, "--strategy", "--decoding")
    generate.add_argument("--temperature", type=positive_float, help="default: the recipe's")
    generate.add_argument("--top-k", type=non_negative_int, help="0 = no top-k filter (default: the recipe's)")
    generate.add_argument("--top-p", type=probability, help="nucleus sampling mass in (0, 1] (default 1)")
    generate.add_argument("--seed", type=int)
    generate.add_argument("--no-cache", action="store_true", help="recompute every step (slow; for checking)")
    generate.add_argument("--num-beams", type=positive_int,
                          help="beam search with this many beams (prompt + new tokens must fit the context)")
    generate.add_argument("--length-penalty", type=finite_float, help="beam search length penalty (default 1)")
    return {"generate": _generate}


def add_train_arguments(train_parser):
    """`keras-llm train` options only language-model recipes read."""
    train_parser.add_argument("--min-count", type=positive_int,
                              help="--tokenizer word: keep words seen at least N times in the training corpus "
                                   "(default 2); the others are one unknown word, [UNK]")


def add_evaluate_arguments(parser):
    """`keras-llm evaluate` options of language-model runs."""
    add_option_once(parser, "--stride", type=positive_int,
                    help="language models: tokens between the starts of the scoring windows, at most the context "
                         "(default: half the context)")
    add_option_once(parser, "--cache-window", type=positive_int,
                    help="RNN LM runs: mix in a continuous cache of the last N tokens' states (Grave et al. 2017; "
                         "1000 is a good start), its two weights tuned on the run's validation text")


def add_predict_arguments(parser):
    """`keras-llm predict` options of GPT runs (decoding knobs default to the run's recipe, as in `generate`)."""
    add_text_column_option(parser)  # GPT runs read the 'prompt' column/key unless it names another
    add_option_once(parser, "--max-new-tokens", type=positive_int, help="generators: default the recipe's")
    add_option_once(parser, "--decoding", choices=["greedy", "sample"], help="GPT: default the recipe's (sample)")
    add_option_once(parser, "--temperature", type=positive_float, help="GPT sampling: default the recipe's")
    add_option_once(parser, "--top-k", type=non_negative_int, help="GPT sampling: 0 = no top-k filter")
    add_option_once(parser, "--top-p", type=probability, help="GPT sampling: nucleus mass in (0, 1]")
    add_option_once(parser, "--seed", type=int, help="GPT sampling: batch i uses SEED + i (default: random)")
    add_option_once(parser, "--num-beams", type=positive_int, help="beam search with this many beams")
    add_option_once(parser, "--length-penalty", type=finite_float, help="beam search length penalty")


def evaluate(args, run_info):
    from keras_llm.runs.gpt_files import evaluate_gpt_run

    evaluate_gpt_run(args.run_dir, args.test_file, output_dir=args.output_dir, stride=args.stride,
                     batch_size=args.batch_size, cache_window=args.cache_window)


def predict(args, run_info):
    from keras_llm.runs.gpt_files import predict_gpt_file

    args.strategy = args.decoding
    options = _decoding_options(args, run_info)
    predict_gpt_file(args.run_dir, args.input_file, args.output_file, options, batch_size=args.batch_size,
                     text_column=args.text_column)


def train(args):
    from keras_llm.runs import load_recipe, train_gpt_run
    from keras_llm.runs.rnn_lm import RNN_LM, train_rnn_lm_run

    model = given(args, "max_length", "num_layers", "hidden_dim")
    tokenizer = given(args, "min_count")
    if args.tokenizer:
        tokenizer["kind"] = args.tokenizer
    kind = load_recipe(args.recipe).get("model")
    if "min_count" in tokenizer and tokenizer.get("kind", _recipe_tokenizer(args.recipe)) != "word":
        raise UserInputError("--min-count applies to word-level tokenizers; add --tokenizer word")
    _check_init_from(args, kind)
    train_run = train_rnn_lm_run if kind == RNN_LM else train_gpt_run
    pretrained = {"init_from": args.init_from} if args.init_from else {}
    run_dir, _ = train_run(args.recipe, run_dir=args.run_dir, corpus=args.corpus,
                           training_overrides={**step_training_overrides(args), **lora_training_overrides(args)},
                           model_overrides=model,
                           tokenizer_overrides=tokenizer or None, verbose=args.verbose, **pretrained)
    print(f"done. Generate: keras-llm generate {run_dir} --prompt 'ROMEO:'   "
          f"Evaluate: keras-llm evaluate {run_dir} --test HELD_OUT.txt   "
          f"TensorBoard: tensorboard --logdir {run_dir}/logs")
    return run_dir


def _check_init_from(args, kind):
    """--init-from fine-tunes a GPT, which keeps its own shape and tokenizer: the flags that would change
    them are refused with it, all in one line (--max-length stays: it is the training window)."""
    from keras_llm.runs.rnn_lm import RNN_LM

    if not args.init_from:
        return
    if kind == RNN_LM:
        raise UserInputError(f"--init-from: recipe {args.recipe!r} is an RNN language model, which starts from "
                             "nothing; --init-from applies to GPT recipes (a Hugging Face GPT-2 directory or a "
                             "GPT run)")
    flags = {"--num-layers": args.num_layers, "--hidden-dim": args.hidden_dim, "--tokenizer": args.tokenizer,
             "--min-count": args.min_count}
    given_flags = [flag for flag, value in flags.items() if value is not None]
    if given_flags:
        raise UserInputError(f"{', '.join(given_flags)} and --init-from conflict: the pretrained model keeps its "
                             "own shape and tokenizer (--max-length sets the training window)")


def _recipe_tokenizer(recipe_name):
    from keras_llm.runs import load_recipe

    return load_recipe(recipe_name).get("tokenizer", {}).get("kind", "char")


def _decoding_options(args, run_info):
    """The recipe's decoding settings with the options the user gave on top (beam search is greedy)."""
    from keras_llm.runs.gpt import decoding_options

    given_options = given(args, "strategy", "max_new_tokens", "temperature", "top_k", "top_p", "seed", "num_beams",
                          "length_penalty")
    if given_options.get("num_beams", 1) > 1:
        given_options.setdefault("strategy", "greedy")
    return decoding_options(run_info.get("sample"), **given_options)


def _generate(args):
    from keras_llm.generation import beam_generate, generate
    from keras_llm.generation.rnn_generate import generate_rnn
    from keras_llm.runs.gpt_files import load_language_model_run
    from keras_llm.runs.rnn_lm import RNN_LM

    model, tokenizer, run_info = load_language_model_run(args.run_dir)
    options = _decoding_options(args, run_info)
    prompts = args.prompt or [run_info.get("sample", {}).get("prompt", "\n")]
    if run_info["model"] == RNN_LM:
        completions = generate_rnn(model, tokenizer, prompts, options)
    elif options.num_beams > 1:
        completions = beam_generate(model, tokenizer, prompts, options)
    else:
        completions = generate(model, tokenizer, prompts, options, use_cache=not args.no_cache)
    for prompt, completion in zip(prompts, completions):
        print(prompt + completion)
        if len(prompts) > 1:
            print("-" * 40)


def export(args, run_info):
    from keras_llm.export import export_text_generator
    from keras_llm.generation.rnn_generate import RNNGenerator
    from keras_llm.runs.gpt import decoding_options
    from keras_llm.runs.gpt_files import load_language_model_run
    from keras_llm.runs.rnn_lm import RNN_LM

    model, tokenizer, run_info = load_language_model_run(args.run_dir)
    options = decoding_options(run_info.get("sample"))
    generator = RNNGenerator(model, tokenizer) if run_info["model"] == RNN_LM else None
    path = export_text_generator(model, tokenizer, base_dir=args.base_dir, name=args.name or run_info["recipe"],
                                 max_new_tokens=options.max_new_tokens, temperature=options.temperature,
                                 top_k=options.top_k, generator=generator, xla=args.xla)
    print(f"exported to {path}")
