"""`keras-llm` commands of extractive question answering (a plug-in of keras_llm/cli/main.py).

- ``keras-llm train qa|minilm-squad --train FILE [--valid FILE] [--init-from DIR] [--epochs N]
  [--max-length N] [--window-stride N] ...``: a span reader on SQuAD v1.1 JSON.
- ``keras-llm answer RUN_DIR --question Q --context C [--question Q --context C ...]``: one line per
  pair, ``answer<TAB>score<TAB>start<TAB>end`` (character offsets into the context, end exclusive).
- ``keras-llm evaluate RUN_DIR --test FILE``: exact match and token F1 (SQuAD v1.1 normalisation) on a
  SQuAD v1.1 JSON file; ``predictions.json`` (``{id: answer}``) beside ``metrics.json``.
- ``keras-llm predict RUN_DIR --input FILE --output FILE``: SQuAD JSON in → ``{id: answer}`` JSON out
  (the official prediction format); JSONL with ``question`` and ``context`` → the same rows with
  ``answer``, ``score``, ``start``, ``end``.
- ``keras-llm export RUN_DIR``: a SavedModel (see :mod:`keras_llm.export.span_qa`).
- ``keras-llm ask INDEX_DIR RUN_DIR --question Q [--top-k K] [--json]``: retrieve, then read: the index's
  top-k passages for each question, the reader's best span among them, and the passage it came from
  (:mod:`keras_llm.search.ask`). One line per question: ``answer<TAB>score<TAB>source id<TAB>rank``.
"""

import json

from keras_llm.cli.arguments import LORA_OPTIONS, epoch_training_overrides, given, lora_training_overrides, positive_int
from keras_llm.errors import UserInputError

RECIPE_KINDS = ("extractive-qa",)
TRAIN_OPTIONS = frozenset({"train_file", "valid_file", "init_from", "epochs", "max_length", "num_layers", "hidden_dim",
                           "window_stride", "warmup_fraction", *LORA_OPTIONS})


def add_commands(commands):
    """Add `keras-llm answer` and `keras-llm ask`; return {command name: handler(args)}."""
    answer = commands.add_parser("answer", help="answer questions from contexts with a trained QA run")
    answer.add_argument("run_dir")
    answer.add_argument("--question", action="append", required=True, help="repeat for a batch (with --context)")
    answer.add_argument("--context", action="append", required=True,
                        help="the text to find the answer in; one per --question, in the same order")
    ask = commands.add_parser("ask", help="retrieve then read: answer questions from a search index's passages "
                                          "with a QA run")
    ask.add_argument("index_dir", help="a search index (`keras-llm index`)")
    ask.add_argument("run_dir", help="a trained QA run (`keras-llm train qa|minilm-squad`)")
    ask.add_argument("--question", action="append", required=True, help="repeat for several questions")
    ask.add_argument("--top-k", type=positive_int, help="passages read per question (default 5, or all of a "
                                                        "smaller index)")
    ask.add_argument("--json", action="store_true",
                     help="one JSON object per question: answer, score, source id, rank, offsets, passage")
    return {"answer": _answer, "ask": _ask}


def train(args):
    from keras_llm.runs.span_qa import train_qa_run

    overrides = {**epoch_training_overrides(args), **given(args, "window_stride", "warmup_fraction"),
                 **lora_training_overrides(args)}
    run_dir, _ = train_qa_run(args.recipe, run_dir=args.run_dir, train_file=args.train_file,
                              valid_file=args.valid_file, init_from=args.init_from, training_overrides=overrides,
                              model_overrides=_model_overrides(args), verbose=args.verbose)
    print(f"done. Answer: keras-llm answer {run_dir} --question '...' --context '...'   "
          f"TensorBoard: tensorboard --logdir {run_dir}/logs")
    return run_dir


def _model_overrides(args):
    """--num-layers / --hidden-dim for a reader trained from scratch; refused with a pretrained encoder."""
    from keras_llm.runs import load_recipe

    init_from = args.init_from or load_recipe(args.recipe).get("init_from")
    shape = given(args, "num_layers", "hidden_dim")
    if init_from and shape:
        names = " and ".join(f"--{name.replace('_', '-')}" for name in shape)
        raise UserInputError(f"{names}: the pretrained encoder {init_from} keeps its own shape; leave them out, "
                             f"or train a reader from scratch (recipe 'qa' without --init-from)")
    return shape


def _answer(args):
    from keras_llm.runs.span_qa import answer_questions, load_qa_run

    if len(args.question) != len(args.context):
        raise UserInputError(f"{len(args.question)} --question but {len(args.context)} --context: give one context "
                             f"per question")
    empty = [i + 1 for i, question in enumerate(args.question) if not question.strip()]
    if empty:
        raise UserInputError(f"--question number {empty[0]} is empty: ask something")
    reader = load_qa_run(args.run_dir)
    for answer, score, start, end in answer_questions(reader, args.question, args.context):
        print(f"{' '.join(answer.split())}\t{score:.4f}\t{start}\t{end}")


def evaluate(args, run_info):
    from keras_llm.runs.qa_files import evaluate_qa_file

    evaluate_qa_file(args.run_dir, args.test_file, output_dir=args.output_dir, batch_size=args.batch_size)


def predict(args, run_info):
    from keras_llm.runs.qa_files import predict_qa_file

    predict_qa_file(args.run_dir, args.input_file, args.output_file, batch_size=args.batch_size)


def export(args, run_info):
    from keras_llm.export.span_qa import export_span_reader
    from keras_llm.runs.span_qa import load_qa_run

    model, tokenizer, run_info = load_qa_run(args.run_dir)
    path = export_span_reader(model, tokenizer, run_info["answers"], base_dir=args.base_dir,
                              name=args.name or run_info["recipe"])
    print(f"exported to {path}")


def _ask(args):
    from keras_llm.runs.span_qa import load_qa_run
    from keras_llm.search import check_queries
    from keras_llm.search.ask import DEFAULT_PASSAGES, ask_index
    from keras_llm.search.index_files import read_index_meta

    documents = read_index_meta(args.index_dir)["documents"]
    top_k = args.top_k or min(DEFAULT_PASSAGES, documents)
    questions = check_queries(args.question, top_k, documents)  # before any model is loaded
    reader = load_qa_run(args.run_dir)
    for found in ask_index(args.index_dir, reader, questions, top_k=top_k):
        if args.json:
            print(json.dumps(found._asdict(), ensure_ascii=False))
            continue
        if len(questions) > 1:
            print(f"question: {found.question}")
        print(f"{' '.join(found.answer.split())}\t{found.score:.4f}\t{found.source_id}\t{found.source_rank}")
