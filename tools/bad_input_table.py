"""Run every bad-input case of docs/reliability.md and print the observed behaviour as Markdown.

Run: .venv/bin/python tools/bad_input_table.py [--work-dir /tmp/bad-input] > /tmp/table.md

Part 1 calls ``keras-llm`` (``keras_llm.cli.main``, in this process) with each bad input and
records the exit code and what went to stderr. Part 2 trains a tiny model of each kind (GPT,
classifier, translator, tagger; seconds each), exports it, loads the SavedModel with
``tf.saved_model.load`` and sends each awkward request to ``serving_default``, recording the
output shapes and the first output. Nothing here is hard-coded: each row is what happened.
"""

import argparse
import contextlib
import io
import json
import os
import shutil
import time

import tensorflow as tf

import keras_llm  # noqa: F401  (TensorFlow backend)
from keras_llm.cli import main

CORPUS = "\n".join(f"the cat number {i} sat on the mat and looked at the dog" for i in range(300))
TINY_GPT = ["--steps", "20", "--eval-interval", "10", "--eval-batches", "1", "--batch-size", "4", "--max-length", "16",
            "--num-layers", "1", "--hidden-dim", "16", "--no-jit"]


def _files(work):
    def write(name, data):
        path = os.path.join(work, name)
        with open(path, "wb") as handle:
            handle.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path

    reviews = "".join(f"{'a great film' if i % 2 else 'an awful mess'} {i}\t{'pos' if i % 2 else 'neg'}\n"
                      for i in range(40))
    pairs = "".join(f"i see {i} cats .\tveo {i} gatos .\n" for i in range(60))
    conll = "".join(f"the\tDET\ncat\tNOUN\n{i}\tNUM\nsat\tVERB\n\n" for i in range(40))
    return {
        "corpus": write("corpus.txt", CORPUS),
        "empty": write("empty.txt", b"  \n"),
        "latin1": write("latin1.txt", "caf\xe9 ".encode("latin-1") * 200),
        "reviews": write("reviews.tsv", "text\tlabel\n" + reviews),
        "headerless": write("headerless.csv", reviews.replace("\t", ",")),
        "single_class": write("single.csv", "text,label\ngood,pos\nfine,pos\nnice,pos\n"),
        "pairs": write("pairs.tsv", pairs),
        "pairs_no_tab": write("no_tab.tsv", "i see a cat\n" + pairs),
        "pairs_empty_target": write("empty_target.tsv", pairs + "hello .\t\n"),
        "pairs_one": write("one_pair.tsv", "hello .\thola .\n"),
        "conll": write("train.conll", conll),
        "conll_one_column": write("one_column.conll", "the\tDET\ncat\n\n"),
        "conll_three_columns": write("three_columns.conll", "the\tDET\tx\n\n"),
        "conll_no_blank_lines": write("no_blank.conll", "".join(f"w{i}\tNOUN\n" for i in range(300))),
        "conll_empty": write("empty.conll", "\n\n\n"),
        "unterminated_quote": write("unterminated.csv", 'text,label\n"good film,pos\nbad,neg\n' +
                                    "".join(f"film {i},{'pos' if i % 2 else 'neg'}\n" for i in range(20))),
        "every_label_once": write("once.csv", "text,label\n" + "".join(f"text {i},label{i}\n" for i in range(8))),
        "ragged_rows": write("ragged.csv", "text,label\ngood,pos,extra\nbad,neg\n"),
        "a_file": write("a_file", "not a folder"),
    }


def _cli_cases(files, work):
    run = os.path.join(work, "run")
    gpt = ["train", "gpt-shakespeare-char", "--run-dir", run]
    clf = ["train", "bert-classifier", "--run-dir", run]
    return [
        ("missing file", [*gpt, "--corpus", os.path.join(work, "nope.txt")]),
        ("empty file", [*gpt, "--corpus", files["empty"]]),
        ("a directory instead of a file", [*gpt, "--corpus", work]),
        ("undecodable bytes (Latin-1)", [*gpt, "--corpus", files["latin1"]]),
        ("CSV without a header row", [*clf, "--train", files["headerless"]]),
        ("CSV without the named column", [*clf, "--train", files["reviews"], "--text-column", "body"]),
        ("a single-class label column", [*clf, "--train", files["single_class"]]),
        ("unknown recipe", ["train", "no-such-recipe"]),
        ("zero steps", [*gpt, "--steps", "0"]),
        ("negative batch size", [*gpt, "--batch-size", "-3"]),
        ("--resume of a run of another model type", ["train", "bert-sentiment", "--resume", "@INTERRUPTED_RUN"]),
        ("--resume of a directory that is not a run", [*gpt, "--resume", work]),
        ("unknown strategy", [*gpt, "--corpus", files["corpus"], "--strategy", "gpus"]),
        ("--strategy tpu without a TPU", [*gpt, "--corpus", files["corpus"], "--strategy", "tpu"]),
        ("--strategy multi_worker, TF_CONFIG without ports", [*gpt, "--corpus", files["corpus"],
                                                             "--strategy", "multi_worker"]),
        ("unknown precision", [*gpt, "--corpus", files["corpus"], "--precision", "fp8"]),
        ("pairs: a line without a tab", ["train", "translator", "--run-dir", run, "--pairs", files["pairs_no_tab"]]),
        ("pairs: an empty target", ["train", "translator", "--run-dir", run, "--pairs", files["pairs_empty_target"]]),
        ("pairs: a file with one pair", ["train", "translator", "--run-dir", run, "--pairs", files["pairs_one"]]),
        ("CoNLL: a line with one column", ["train", "tagger", "--run-dir", run, "--train", files["conll_one_column"]]),
        ("CoNLL: a line with three columns",
         ["train", "tagger", "--run-dir", run, "--train", files["conll_three_columns"]]),
        ("CoNLL: no blank-line separators",
         ["train", "tagger", "--run-dir", run, "--train", files["conll_no_blank_lines"]]),
        ("CoNLL: only empty sentences", ["train", "tagger", "--run-dir", run, "--train", files["conll_empty"]]),
        ("CSV with an unterminated quote", [*clf, "--train", files["unterminated_quote"]]),
        ("CSV where every label occurs once", [*clf, "--train", files["every_label_once"]]),
        ("CSV with a row of 3 fields under a 2-column header", [*clf, "--train", files["ragged_rows"]]),
        ("train on a finished run (no --overwrite)", ["train", "gpt-shakespeare-char", "--run-dir", "@GPT_RUN",
                                                      "--corpus", files["corpus"], *TINY_GPT]),
        ("--resume of a finished run", ["train", "gpt-shakespeare-char", "--resume", "@GPT_RUN"]),
        ("--run-dir that is a regular file", [*gpt, "--corpus", files["corpus"], "--run-dir", files["a_file"]]),
        ("--steps for a recipe counted in epochs", [*clf, "--train", files["reviews"], "--steps", "3"]),
        ("--epochs for a recipe counted in steps", [*gpt, "--corpus", files["corpus"], "--epochs", "3"]),
        ("--learning-rate nan", [*gpt, "--corpus", files["corpus"], "--learning-rate", "nan"]),
        ("generate --temperature nan", ["generate", "@GPT_RUN", "--temperature", "nan"]),
        ("generate --top-p inf", ["generate", "@GPT_RUN", "--top-p", "inf"]),
        ("generate --prompt with invalid UTF-8 (as Python receives it)", ["generate", "@GPT_RUN", "--prompt",
                                                                          "caf\udce9"]),
        ("export --name ../../escaped", ["export", "@GPT_RUN", "--base-dir", os.path.join(work, "exports"),
                                          "--name", "../../escaped"]),
        ("export of a run whose run.json names recipe ../../x", ["export", "@ESCAPING_RUN", "--base-dir",
                                                                  os.path.join(work, "exports")]),
        ("a damaged run.json", ["export", "@DAMAGED_RUN"]),
    ]


def _doctored_runs(gpt_run, work):
    """Copies of the finished GPT run whose run.json escapes its base directory, is cut short, or is in progress."""
    escaping, damaged = os.path.join(work, "run-escaping"), os.path.join(work, "run-damaged")
    interrupted = os.path.join(work, "run-interrupted")
    for folder in (escaping, damaged, interrupted):
        shutil.copytree(gpt_run, folder)
    with open(os.path.join(gpt_run, "run.json"), encoding="utf-8") as handle:
        info = json.load(handle)
    with open(os.path.join(escaping, "run.json"), "w", encoding="utf-8") as handle:
        json.dump({**info, "recipe": "../../x"}, handle)
    with open(os.path.join(damaged, "run.json"), "w", encoding="utf-8") as handle:
        handle.write(json.dumps(info)[:40])
    with open(os.path.join(interrupted, "run.json"), "w", encoding="utf-8") as handle:
        json.dump({**info, "status": "in progress"}, handle)  # as a killed run leaves it
    return {"@ESCAPING_RUN": escaping, "@DAMAGED_RUN": damaged, "@INTERRUPTED_RUN": interrupted}


def _call(argv, env=None):
    err, out = io.StringIO(), io.StringIO()
    previous = {key: os.environ.get(key) for key in (env or {})}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse
                code = exit_.code
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return code, err.getvalue().strip(), out.getvalue()


def _cell(text, limit=160):
    text = text.replace("|", "\\|").replace("\n", " ⏎ ")
    return text if len(text) <= limit else text[:limit] + " …"


def _train_and_export(kind, files, work):
    run, base = os.path.join(work, f"run-{kind}"), os.path.join(work, "exports")
    argv = {
        "gpt": ["train", "gpt-shakespeare-char", "--corpus", files["corpus"], *TINY_GPT],
        "classifier": ["train", "bert-classifier", "--train", files["reviews"], "--epochs", "1", "--max-length", "16",
                       "--no-jit"],
        "translator": ["train", "translator", "--pairs", files["pairs"], "--steps", "10", "--eval-interval", "10",
                       "--batch-size", "8", "--num-layers", "1", "--hidden-dim", "16", "--no-jit"],
        "tagger": ["train", "tagger", "--train", files["conll"], "--epochs", "1", "--num-layers", "1",
                   "--hidden-dim", "16", "--max-length", "16", "--no-jit"],
    }[kind]
    code, err, _ = _call([*argv, "--run-dir", run])
    if code != 0:
        raise RuntimeError(f"training the tiny {kind} failed: {err}")
    code, err, _ = _call(["export", run, "--base-dir", base, "--name", kind])
    if code != 0:
        raise RuntimeError(f"exporting the tiny {kind} failed: {err}")
    return run, os.path.join(base, kind, "1")


SERVING_CASES = [
    ("empty string", [b""]),
    ("whitespace only", [b" \t\n "]),
    ("100,000 characters", [b"the cat " * 12_500]),
    ("invalid UTF-8", [b"caf\xe9 \xff\xfe cat"]),
    ("batch of 0", []),
    ("batch of 256", [b"the cat sat"] * 256),
    ("a NUL byte between words", [b"the cat\x00sat on the mat"]),
]


def _serve(path, texts):
    served = tf.saved_model.load(path)
    function = served.signatures["serving_default"]
    name = list(function.structured_input_signature[1])[0]
    started = time.perf_counter()
    outputs = function(**{name: tf.constant(texts, tf.string)})
    seconds = time.perf_counter() - started
    shapes = ", ".join(f"{key} {list(value.shape)}" for key, value in sorted(outputs.items()))
    first = {}
    for key, value in sorted(outputs.items()):
        array = value.numpy()
        if array.shape and array.shape[0]:
            item = array[0]
            if getattr(item, "dtype", None) is not None and item.dtype == object:
                item = [x.decode("utf-8", "replace") for x in item.ravel()[:6]]
            elif isinstance(item, bytes):
                item = item.decode("utf-8", "replace")[:40]
            else:
                item = [round(float(x), 3) for x in item.ravel()[:4]]
            first[key] = item
    return shapes, json.dumps(first, ensure_ascii=False)[:150], seconds


def main_():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work-dir", default="/tmp/keras-llm-bad-input")
    args = parser.parse_args()
    shutil.rmtree(args.work_dir, ignore_errors=True)
    os.makedirs(args.work_dir)
    files = _files(args.work_dir)
    exports = {kind: _train_and_export(kind, files, args.work_dir) for kind in ("gpt", "classifier", "translator",
                                                                                  "tagger")}
    special_runs = {"@GPT_RUN": exports["gpt"][0], **_doctored_runs(exports["gpt"][0], args.work_dir)}
    print("## Command line (`keras-llm ...`)\n")
    print("| case | exit code | stderr |\n|---|---|---|")
    bad_tf_config = '{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}'
    for name, argv in _cli_cases(files, args.work_dir):
        argv = [special_runs.get(item, item) for item in argv]
        env = {"TF_CONFIG": bad_tf_config} if "multi_worker" in argv else None
        code, err, _ = _call(argv, env)
        lines = err.count("\n") + 1 if err else 0
        print(f"| {name} | {code} | {_cell(err.splitlines()[-1] if err else '')} ({lines} line{'s' * (lines != 1)}) |")
    print("\n## Serving signatures (`serving_default` of each export)\n")
    print("| model | request | output shapes | first output | seconds |\n|---|---|---|---|---|")
    for kind, (_, path) in exports.items():
        for case, texts in SERVING_CASES:
            try:
                shapes, first, seconds = _serve(path, texts)
                print(f"| {kind} | {case} | {shapes} | {_cell(first)} | {seconds:.2f} |")
            except Exception as error:  # noqa: BLE001  (a crash is exactly what this table must show)
                print(f"| {kind} | {case} | CRASH | {_cell(type(error).__name__ + ': ' + str(error))} | |")


if __name__ == "__main__":
    main_()
