"""Every `keras-llm ...` command written in README.md and docs/*.md works as documented.

The commands are read from the Markdown itself (code blocks, with `\\` continuations, quotes that
span lines, `$ ` prompts and `VAR=value` prefixes; and inline code spans), so a new page or a new
command is picked up without touching this file. Two tiers:

- **dry check** (default suite, every command, in-process, well under a second each): the
  arguments parse with the real parser, the recipe exists and its task uses every option given,
  TF_CONFIG is well formed, and every file and run directory named exists after the substitutions
  below;
- **run** (through the console script): the command with tiny budgets injected (`--steps 2`,
  a 1-layer 16-wide model, ...), the data files replaced by small files this test writes, run
  directories by tiny runs of the right task. A handful run in the default suite; the rest are
  marked slow (a bundled data set, a pretrained model, or a tiny run of another task to train first).

The tables below are the whole contract: what each file name and run directory stands for, what is
injected, what cannot run here and why.
"""

import dataclasses
import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.conftest import TINY_CORPUS, run_cli

REPO = Path(__file__).resolve().parents[2]


def documented_files():
    """README.md and every page under docs/ (new pages are picked up automatically)."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


# ---------------------------------------------------------------------------------------------- extraction

@dataclasses.dataclass(frozen=True)
class DocCommand:
    """One documented command line: where it is written, its environment prefix and its arguments."""
    where: str  # "docs/x.md:12"
    env: tuple  # (("TF_CONFIG", "{...}"),)
    argv: tuple  # the arguments after `keras-llm`

    @property
    def text(self):
        return " ".join(["keras-llm", *self.argv])


_FENCE = re.compile(r"^\s*(```|~~~)")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SEPARATORS = {"&&", "||", ";", "|"}


def extract_commands(markdown, name="<text>"):
    """The `keras-llm` commands of one Markdown text, in order of appearance.

    Example:
        >>> extract_commands("Run `keras-llm zoo`.")[0].argv
        ('zoo',)
    """
    commands, lines, in_block, paragraph = [], markdown.splitlines(), False, []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _FENCE.match(line):
            in_block = not in_block
            commands += _inline_commands(paragraph, name)
            paragraph = []
            index += 1
            continue
        if not in_block:
            if line.strip():
                paragraph.append((index + 1, line))
            else:
                commands += _inline_commands(paragraph, name)
                paragraph = []
            index += 1
            continue
        start = index  # a shell line: join `\` continuations and quotes that stay open across lines
        logical = line
        while index + 1 < len(lines) and (logical.rstrip().endswith("\\") or not _quotes_closed(logical)):
            index += 1
            logical = (logical.rstrip()[:-1] if logical.rstrip().endswith("\\") else logical + "\n") + lines[index]
        index += 1
        logical = re.sub(r"^\s*\$\s", "", logical)  # a `$ ` prompt
        commands += _shell_commands(logical, f"{name}:{start + 1}")
    return commands + _inline_commands(paragraph, name)


def _quotes_closed(text):
    try:
        shlex.split(text, comments=True)
        return True
    except ValueError:
        return False


def _shell_commands(line, where):
    """`keras-llm` commands in one shell line, also inside a quoted argument (`ssh host 'cd x && keras-llm ...'`)."""
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError:
        return []
    found, segment = [], []
    for token in [*tokens, ";"]:
        if token not in _SEPARATORS:
            segment.append(token)
            continue
        env = []
        while segment and _ENV.match(segment[0]):
            env.append(tuple(segment.pop(0).split("=", 1)))
        if segment and (segment[0] == "keras-llm" or segment[0].endswith("/keras-llm")):
            found.append(DocCommand(where, tuple(env), tuple(_without_brackets(segment[1:]))))
        elif segment:
            for token_inside in segment[1:]:
                if "keras-llm" in token_inside and " " in token_inside:
                    found += _shell_commands(token_inside, where)
        segment = []
    return found


def _without_brackets(tokens):
    """`[--steps 500 --corpus my.txt]` marks options as optional: the command is tested with them."""
    return [token[1:] if token.startswith("[-") else token[:-1] if token.endswith("]") and "[" not in token
            else token for token in tokens]


_SPAN = re.compile(r"`([^`]+)`")


def _inline_commands(paragraph, name):
    """Inline code spans that are a whole command (`keras-llm train bert-mlm`), not a mention of one
    (`keras-llm train`, `keras-llm tag`, `keras-llm ...`)."""
    text = " ".join(line for _, line in paragraph)
    found = []
    for match in _SPAN.finditer(text):
        span = " ".join(match.group(1).split())
        if not span.startswith("keras-llm "):
            continue
        line_number = _line_of(paragraph, match.group(1).split()[0], match.start(), text)
        for command in _shell_commands(span, f"{name}:{line_number}"):
            if len(command.argv) >= 2 or command.argv == ("zoo",):
                if "..." not in command.argv:
                    found.append(command)
    return found


def _line_of(paragraph, _, offset, text):
    consumed = 0
    for number, line in paragraph:
        consumed += len(line) + 1
        if consumed > offset:
            return number
    return paragraph[-1][0] if paragraph else 0


def all_documented_commands():
    commands = []
    for path in documented_files():
        commands += extract_commands(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    return commands


# ---------------------------------------------------------------------------------------------- substitutions

# Data files named in the docs -> which small file this test writes in their place (same name, in
# the working directory the commands run in).
DATA_FILES = {
    "my.txt": "corpus", "my_corpus.txt": "corpus", "tiny.txt": "corpus", "data/tiny_shakespeare/input.txt": "corpus",
    "reviews.csv": "reviews", "/tmp/sentiment.csv": "sentences",
    "my_pairs.tsv": "pairs", "pairs.tsv": "pairs", "dev.tsv": "pairs", "valid.tsv": "pairs",
    "train.conll": "conll", "dev.conll": "conll", "ner_train.tsv": "conll", "ner_dev.tsv": "conll",
    "en-ud-train.conllu": "conllu",
    "amazon_train.tsv": "sentences_tsv", "amazon_test.tsv": "sentences_tsv", "held_out.txt": "corpus",
    "ewt_train_2k.tsv": "conll", "data/ud_english_ewt/dev.tsv": "conll", "spa_train.tsv": "many_pairs",
    "spa_test.tsv": "pairs", "english.txt": "lines", "prompts.txt": "lines", "sources.txt": "lines",
    "contracts.csv": "texts", "data/uci_train.tsv": "sentences_tsv",
    "docs.csv": "search_docs", "more_docs.csv": "more_search_docs",
    "squad/squad-train-38.json": "squad", "squad/squad-heldout-10.json": "squad",
    "squad/squad-train-37.json": "squad", "squad/squad-valid-1.json": "squad",
    "docs.jsonl": "pairs_jsonl", "data/scitldr/test.jsonl": "pairs_jsonl", "data/csl/ts/test.tsv": "csl_ts",
    "data/csl/cls_ctg/test.tsv": "csl_cls",
}
# Index directories that a documented `keras-llm index ... --output DIR` writes before the commands that
# read them on the same page (docs/search.md); the commands run in the order they are written.
DOCUMENTED_INDEXES = ("idx",)
# Run directories read by a command (not trained by it) -> the task of the tiny run that stands in.
RUN_DIRS = {
    "runs/shakespeare": "gpt", "RUN_DIR": "gpt", "runs/bert-classifier": "classifier",
    "runs/transformer-spa-eng": "translator", "/tmp/spa/run": "translator", "runs/bert-pos-ewt": "tagger",
    "runs/mlm": "masked_lm", "runs/amazon": "classifier", "runs/ewt-small": "tagger", "runs/gpt-small": "gpt",
    "runs/translator-small": "translator", "kl-run": "gpt", "runs/contracts": "classifier",
    "runs/gpt-budget": "gpt", "runs/tags-budget": "tagger", "runs/reviews-bilstm": "classifier",
    "runs/tags-minilm": "tagger",
    # docs/summarization.md: summarizer and title runs are seq2seq runs, which the tiny translator run is.
    "runs/scitldr": "translator", "runs/title-csl": "translator", "runs/scitldr-minilm": "translator",
    # docs/benchmarks.md: the CSL classifier reads CSL's headerless prompt/title/category table.
    "runs/classify-csl": "classify_csl",
    # docs/language_models.md: word-level runs (`evaluate --cache-window` needs the LSTM itself).
    "runs/lstm-words": "lstm", "runs/gpt-words": "gpt",
    # docs/pretrained_gpt.md: a tiny GPT run stands in for the GPT-2 directory (--init-from takes both;
    # tests/cli/test_gpt2_init_cli.py runs the Hugging Face directory itself).
    "gpt2": "gpt", "runs/gpt2-shakespeare": "gpt",
    # docs/compression.md: what `keras-llm quantize runs/bert-classifier --output ...` writes, and the
    # measured MiniLM run and its int8 copy.
    "runs/bert-classifier-int8": "classifier", "runs/full": "classifier", "runs/full-int8": "classifier",
    "runs/gpt-small-int8": "gpt", "runs/spa": "translator", "runs/spa-int8": "translator",
    # docs/question_answering.md: a tiny `qa` reader stands in for the MiniLM one.
    "runs/minilm-squad": "qa", "runs/qa-small": "qa", "bench2": "qa",
}
# Other placeholders written in the docs.
PLACEHOLDERS = {"RECIPE": "gpt-shakespeare-char", "N": "2", "X": "1.0", "T": "0.8", "K": "5", "P": "0.9", "S": "1",
                "DIR": "placeholder-output-dir", "NAME": "source"}
# Options whose value names a file or folder that must exist.
PATH_OPTIONS = ("corpus", "train_file", "valid_file", "pairs", "input_file", "test_file")
# Commands that are checked but not run here, and why (matched on the command's words).
NOT_RUN = {
    "--strategy multi_worker": "needs its partner workers: tests/cli/test_multi_worker_cli.py runs two",
    "--strategy tpu": "no TPU on this machine (docs/distributed.md says so)",
    "--resume": "needs a killed run: tests/cli/test_kill_and_resume.py kills and resumes every trainer",
    "--teacher runs/full": "the measured MiniLM teacher's labels (0/1) are not the tiny stand-in's; "
                           "tests/cli/test_distill_cli.py runs distill",
}
# Inline code in prose that names a command without the inputs it needs (dry-checked, not run).
PROSE_MENTIONS = {
    ("docs/reliability.md", "train bert-classifier"): "prose: the bad tables fed to it are the point, not a run",
}
# Tiny budgets injected into `train` commands, by the task the recipe belongs to (a documented value
# of the same option is replaced). Classifier and tagger recipes count epochs.
TINY_TRAIN = {
    "gpt": ["--steps", "2", "--eval-interval", "1", "--eval-batches", "1", "--max-length", "16",
            "--num-layers", "1", "--hidden-dim", "16"],
    "masked_lm": ["--steps", "2", "--eval-interval", "1", "--eval-batches", "1"],
    "translator": ["--steps", "2", "--eval-interval", "1", "--eval-batches", "1", "--max-length", "16",
                   "--num-layers", "1", "--hidden-dim", "16"],
    "classifier": ["--epochs", "1", "--max-length", "16"],
    "tagger": ["--epochs", "1", "--max-length", "16"],
    "qa": ["--epochs", "1", "--max-length", "32"],
}
SHAPE_FLAGS = ("--num-layers", "--hidden-dim")
TINY_COMPARE = {"lm": ["--steps", "2", "--eval-interval", "1", "--eval-batches", "1", "--params", "8000",
                       "--max-length", "16", "--sample-tokens", "4", "--no-jit"],
                "classify": ["--epochs", "1", "--params", "3000"]}
# Commands run in the default suite (the README's first steps: no training, or a tiny GPT on a
# tiny corpus); the rest are slow (each is a fresh process of several seconds, some train on a
# bundled data set or a pretrained model).
FAST = ("zoo", "train gpt-shakespeare-char --run-dir runs/shakespeare", "generate runs/shakespeare",
        "export runs/shakespeare")
TASK_OF_PLUGIN = {"keras_llm.cli.gpt": "gpt", "keras_llm.cli.masked_lm": "masked_lm",
                  "keras_llm.cli.translator": "translator", "keras_llm.cli.classifier": "classifier",
                  "keras_llm.cli.tagger": "tagger", "keras_llm.cli.qa": "qa"}


def _write_data_files(workspace):
    workspace.mkdir(parents=True, exist_ok=True)
    words = ["good", "great", "fine", "bad", "awful", "poor"]
    contents = {
        "corpus": TINY_CORPUS,
        "reviews": "review,stars\n" + "".join(f"{w} film {i},{'5' if w in words[:3] else '1'}\n"
                                               for i in range(8) for w in words),
        "sentences": "sentence,label\n" + "".join(f"{w} film {i},{int(w in words[:3])}\n"
                                                  for i in range(8) for w in words),
        "sentences_tsv": "sentence\tlabel\n" + "".join(f"{w} film {i}\t{int(w in words[:3])}\n"
                                                       for i in range(8) for w in words),
        "lines": "".join(f"I like {w} tea.\n" for w in words),
        "search_docs": "id,text\n" + "".join(f"{w},We sell {w} tea.\n" for w in [*words, "rain"]),
        "more_search_docs": "id,text\npasta,Pasta is sold out.\ntea,Steep green tea for three minutes.\n",
        "texts": "text,label\n" + "".join(f"{w} film {i},{int(w in words[:3])}\n" for i in range(8) for w in words),
        "pairs": "".join(f"I like {w} tea.\tMe gusta el té {w}.\n" for w in words * 4),
        # transformer-spa-eng holds out 2,000 validation pairs before it trains on the rest
        "many_pairs": "".join(f"I like {w} tea {i}.\tMe gusta el té {w} {i}.\n" for i in range(400) for w in words),
        "pairs_jsonl": "".join(json.dumps({"source": [f"I like {w} tea.", "It is hot."], "target": [f"{w} tea", "tea"],
                                           "abstract": f"I like {w} tea.", "tldr": f"{w} tea"}) + "\n"
                               for w in words * 4),
        "csl_ts": "".join(f"to title\t我喜欢{w}茶。\t{w}茶\n" for w in words * 4),
        "csl_cls": "".join(f"to category\t{title}\t{label}\n" for title, label in
                           [("基于深度学习的图像识别", "工学"), ("量子场论中的对称性", "理学")] * 4),
        "conll": "\n".join(f"The\tDET\n{w}\tADJ\ncat\tNOUN\nsat\tVERB\n" for w in words * 3),
        "squad": json.dumps({"version": "1.1", "data": [{"title": f"t{i}", "paragraphs": [{
            "context": f"The {w} cat sat on the mat.", "qas": [{"id": f"{i}", "question": "Which cat sat?",
                                                              "answers": [{"text": w, "answer_start": 4}]}]}]}
            for i, w in enumerate(words * 2)]}),
        "conllu": "\n".join(f"1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\t{w}\t{w}\tADJ\tJJ\t_\t3\tamod\t_\t_\n"
                            f"3\tcat\tcat\tNOUN\tNN\t_\t0\troot\t_\t_\n" for w in words * 3),
    }
    for name, kind in DATA_FILES.items():
        target = workspace / name.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(contents[kind], encoding="utf-8")


def _local_path(workspace, value):
    return str(workspace / value.lstrip("/")) if value in DATA_FILES else value


def not_run_reason(command):
    text = " ".join(command.argv)
    mention = PROSE_MENTIONS.get((command.where.rsplit(":", 1)[0], text))
    return mention or next((why for words, why in NOT_RUN.items() if words in text), None)


def substituted(command, workspace, runs):
    """``(argv, env)`` of ``command`` for this machine: data files, run directories and placeholders
    replaced, every `train --run-dir` a fresh folder. ``runs`` maps a task to a trained tiny run
    (a callable, so only the runs a command needs get trained)."""
    argv = [PLACEHOLDERS.get(token, token) for token in command.argv]
    argv = [_local_path(workspace, token) for token in argv]
    for position, token in enumerate(argv):
        previous = argv[position - 1] if position else ""
        if previous == "--output" and argv[0] == "quantize":  # a run it writes, not one it reads
            argv[position] = str(workspace / "runs" / f"doc-{abs(hash(command))}")
        elif token in RUN_DIRS and (previous != "--run-dir" or argv[0] != "train"):
            argv[position] = str(runs(RUN_DIRS[token]))
    if argv[0] == "train" and "--run-dir" in argv:
        argv[argv.index("--run-dir") + 1] = str(workspace / "runs" / f"doc-{abs(hash(command))}")
    elif argv[0] == "train" and "--resume" not in argv:
        argv += ["--run-dir", str(workspace / "runs" / f"doc-{abs(hash(command))}")]
    if argv[0] == "export":
        argv += ["--base-dir", str(workspace / "saved_models")]
    return argv, dict(command.env)


def with_tiny_budget(argv):
    """``argv`` with the tiny budget of its task injected (replacing documented values)."""
    if argv[0] == "train":
        extra = TINY_TRAIN[_task_of_recipe(argv[1])]
        if "--init-from" in argv:  # a pretrained encoder fixes the model's shape
            extra = [item for flag, value in zip(extra[0::2], extra[1::2]) if flag not in ("--num-layers",
                                                                                          "--hidden-dim")
                     for item in (flag, value)]
    elif argv[0] == "compare":
        extra = TINY_COMPARE["classify" if "classify" in argv else "lm"]
    else:
        return list(argv)
    argv = list(argv)
    if "--init-from" in argv:  # a pretrained model keeps its shape: only the budget is injected
        extra = [item for pair in zip(extra[0::2], extra[1::2]) if pair[0] not in SHAPE_FLAGS for item in pair]
    for flag, value in zip(extra[0::2], extra[1::2]):
        if flag in argv and value is not None and not flag.startswith("--no-"):
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag] if flag.startswith("--no-") else [flag, value]
    return argv


def _task_of_recipe(recipe_name):
    from keras_llm.cli.main import _plugin_for
    from keras_llm.runs import load_recipe

    return TASK_OF_PLUGIN[_plugin_for(load_recipe(recipe_name).get("model")).__name__]


# ---------------------------------------------------------------------------------------------- dry check

class DocCommandError(AssertionError):
    """A documented command that cannot work as written."""


def dry_check(command, workspace):
    """Check ``command`` without running it: parse, recipe and options, TF_CONFIG, named files.

    Raises:
        DocCommandError: with the reason, naming where the command is written.
    """
    from keras_llm.cli.main import _parser, _plugin_for
    from keras_llm.cli.run_options import check_given_options
    from keras_llm.errors import UserInputError
    from keras_llm.runs import load_recipe

    def fail(reason):
        raise DocCommandError(f"{command.where}: `{command.text}`: {reason}")

    if not command.argv:
        fail("no command after keras-llm")
    argv, env = substituted(command, workspace, runs=lambda task: f"<tiny {task} run>")
    parser, train_parser, _ = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        fail("the arguments do not parse (see the parser's message above)")
    try:
        if args.command == "train":
            recipe = load_recipe(args.recipe)
            check_given_options(args, train_parser, _plugin_for(recipe.get("model")).TRAIN_OPTIONS, args.recipe)
        if "TF_CONFIG" in env:
            _check_tf_config_text(env["TF_CONFIG"])
        init_from = getattr(args, "init_from", None)
        if init_from and init_from.startswith("package:"):
            from keras_llm.checkpoints.model_directory import resolve_model_directory

            resolve_model_directory(init_from)
    except UserInputError as error:
        fail(str(error))
    for token in command.argv:
        if token in RUN_DIRS or token in DATA_FILES:
            continue
        if re.fullmatch(r"[A-Z][A-Z_]+", token) and token not in PLACEHOLDERS:
            fail(f"placeholder {token} is not in this test's tables (RUN_DIRS / PLACEHOLDERS)")
    for name in PATH_OPTIONS:
        value = getattr(args, name, None)
        if value and not os.path.exists(value):
            fail(f"{value} does not exist (add it to DATA_FILES if it stands for the user's own file)")
    positional = getattr(args, "run_dir", None) if args.command != "train" else getattr(args, "init_from", None)
    if positional and not positional.startswith(("<tiny", "package:")) and not os.path.exists(positional):
        if args.command not in ("embed",) and positional not in DOCUMENTED_INDEXES:
            fail(f"run directory {positional} is not in RUN_DIRS")


def _check_tf_config_text(text):
    from keras_llm import distribute

    previous = os.environ.get("TF_CONFIG")
    os.environ["TF_CONFIG"] = text
    try:
        distribute._check_tf_config()
    finally:
        if previous is None:
            os.environ.pop("TF_CONFIG")
        else:
            os.environ["TF_CONFIG"] = previous


# ---------------------------------------------------------------------------------------------- tests

COMMANDS = all_documented_commands()


def _id(command):
    return f"{command.where} {' '.join(command.argv)}"[:120]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("documented")
    _write_data_files(folder)
    return folder


def test_the_docs_hold_commands_of_every_kind():
    commands = {command.argv[0] for command in COMMANDS}
    assert {"zoo", "train", "generate", "export", "classify", "translate", "tag", "embed", "compare"} <= commands
    assert any(command.env for command in COMMANDS)  # the TF_CONFIG=... prefix was read


@pytest.mark.parametrize("command", COMMANDS, ids=_id)
def test_documented_command_is_well_formed(command, workspace):
    dry_check(command, workspace)


# The tiny runs that stand in for documented run directories: one per task, trained on first use.
_TINY_RUN_COMMANDS = {
    "gpt": ["train", "gpt-shakespeare-char", "--corpus", "my.txt", *TINY_TRAIN["gpt"]],
    "classifier": ["train", "bert-classifier", "--train", "reviews.csv", "--text-column", "review",
                   "--label-column", "stars", *TINY_TRAIN["classifier"]],
    "translator": ["train", "translator", "--pairs", "pairs.tsv", *TINY_TRAIN["translator"]],
    "tagger": ["train", "tagger", "--train", "train.conll", "--num-layers", "1", "--hidden-dim", "16",
               *TINY_TRAIN["tagger"]],
    "masked_lm": ["train", "bert-mlm", "--corpus", "my.txt", *TINY_TRAIN["masked_lm"]],
    "qa": ["train", "qa", "--train", "squad/squad-train-38.json", "--num-layers", "1", "--hidden-dim", "16",
           *TINY_TRAIN["qa"]],
    "classify_csl": ["train", "classify-csl", *TINY_TRAIN["classifier"]],  # the bundled CSL titles, 1 epoch
    "lstm": ["train", "lstm-lm", "--corpus", "my.txt", *TINY_TRAIN["gpt"]],
}


@pytest.fixture(scope="module")
def tiny_runs(workspace, trained_run):
    trained = {"gpt": trained_run[0]}  # the session's tiny GPT run (tests/conftest.py)

    def run_of(task):
        if task not in trained:
            run_dir = workspace / "tiny-runs" / task
            completed = run_cli(*_TINY_RUN_COMMANDS[task], "--run-dir", run_dir, cwd=workspace)
            assert completed.returncode == 0, completed.stderr[-3000:]
            trained[task] = run_dir
        return trained[task]
    return run_of


def _marks(command):
    text = " ".join(command.argv)
    reason = not_run_reason(command)
    if reason:
        return [pytest.mark.skip(reason=reason)]
    fast = any(text == prefix or text.startswith(prefix + " ") for prefix in FAST)
    return [] if fast else [pytest.mark.slow]


def _distinct(commands):
    """Each command line once (`keras-llm export RUN_DIR` is written on several pages)."""
    seen, distinct = set(), []
    for command in commands:
        key = (command.env, tuple(RUN_DIRS.get(token, token) for token in command.argv))
        if key not in seen:
            seen.add(key)
            distinct.append(command)
    return distinct


@pytest.mark.parametrize("command", [pytest.param(c, marks=_marks(c), id=_id(c)) for c in _distinct(COMMANDS)])
def test_documented_command_runs(command, workspace, tiny_runs):
    argv, env = substituted(command, workspace, tiny_runs)
    argv = with_tiny_budget(argv)
    completed = run_cli(*argv, cwd=workspace, env=env)
    assert completed.returncode == 0, f"{command.where}: `{command.text}` ran as {argv}\n{completed.stderr[-3000:]}"
    assert "Traceback" not in completed.stderr, completed.stderr[-3000:]
    for folder in (workspace / "runs").glob("doc-*"):  # keep the workspace small between commands
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- the extractor itself

SAMPLE_PAGE = """
Intro with `keras-llm train` (a mention) and `keras-llm generate runs/shakespeare --top-k 5`.

```bash
keras-llm zoo                      # list recipes
TF_CONFIG='{"cluster": {"worker": ["h1:1", "h2:1"]},
            "task": {"type": "worker", "index": 0}}' \\
  keras-llm train gpt-shakespeare-char --strategy multi_worker
keras-llm train gpt-shakespeare-char --run-dir runs/x [--steps 5 --corpus my.txt]
ssh tpu -- 'cd repo && .venv/bin/keras-llm train gpt-shakespeare-char --strategy tpu'
$ keras-llm tag runs/bert-pos-ewt --text "A b." \\
    --text "C d."
output line, not a command
```
"""


def test_extractor_reads_blocks_continuations_env_prefixes_and_inline_code():
    commands = extract_commands(SAMPLE_PAGE, "page.md")
    assert [c.argv for c in commands] == [
        ("generate", "runs/shakespeare", "--top-k", "5"),
        ("zoo",),
        ("train", "gpt-shakespeare-char", "--strategy", "multi_worker"),
        ("train", "gpt-shakespeare-char", "--run-dir", "runs/x", "--steps", "5", "--corpus", "my.txt"),
        ("train", "gpt-shakespeare-char", "--strategy", "tpu"),
        ("tag", "runs/bert-pos-ewt", "--text", "A b.", "--text", "C d."),
    ]
    assert json.loads(dict(commands[2].env)["TF_CONFIG"])["task"]["index"] == 0
    assert commands[2].where == "page.md:6" and commands[5].where == "page.md:11"


@pytest.mark.parametrize("broken, reason", [
    ("keras-llm train gpt-shakespeare-char --stepz 2", "do not parse"),
    ("keras-llm train gpt-shakespear-char", "unknown recipe"),
    ("keras-llm train bert-classifier --train reviews.csv --steps 3", "--steps is not used"),
    ("keras-llm train gpt-shakespeare-char --corpus missing.txt", "missing.txt does not exist"),
    ("keras-llm generat runs/shakespeare", "do not parse"),
    ("TF_CONFIG='{\"cluster\": {\"worker\": [\"localhost\"]}}' keras-llm train gpt-shakespeare-char "
     "--strategy multi_worker", "host:port"),
])
def test_a_broken_documented_command_fails_the_check(broken, reason, workspace):
    (command,) = extract_commands(f"```\n{broken}\n```\n", "broken.md")
    with pytest.raises(DocCommandError, match=re.escape(reason)):
        dry_check(command, workspace)
