"""`--pretokenized` for `keras-llm tag`, `evaluate` and `predict`: tokens split at whitespace only, tagged as given.

The run is a tagger without character features (three model inputs), so these also check that
such runs still tag, evaluate and predict through the code that now serves char-feature runs.
"""

import json

import pytest

from keras_llm.runs.tagger import train_tagger_run
from tests.conftest import assert_one_line_error, run_cli

# Tokens the serving rule would cut at their punctuation: "U.S." → U . S ., "don't" → don ' t.
SENTENCE = "The U.S. team don't lose"


@pytest.fixture(scope="module")
def tagger_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretokenized")
    words = [("The", "DET"), ("U.S.", "PROPN"), ("team", "NOUN"), ("do", "AUX"), ("n't", "PART"), ("lose", "VERB"),
             (".", "PUNCT")]
    (folder / "train.tsv").write_text("\n\n".join(["\n".join(f"{w}\t{t}" for w, t in words)] * 16) + "\n",
                                      encoding="utf-8")
    # Trained in-process (the commands under test are tag/evaluate/predict; `train` has its own tests).
    train_tagger_run("tagger", run_dir=str(folder / "run"), train_file=str(folder / "train.tsv"),
                     training_overrides=dict(epochs=1, batch_size=8, max_length=24, jit_compile=False,
                                             learning_rate=5e-3),
                     model_overrides=dict(num_layers=1, hidden_dim=16), verbose=0, log=lambda message: None)
    return folder


def _tag(run_dir, *options):
    completed = run_cli("tag", run_dir, "--text", SENTENCE, "--text", "  two\ttokens  ", *options)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return [[line.split("\t") for line in block.splitlines()] for block in completed.stdout.split("\n\n")[:2]]


@pytest.fixture(scope="module")
def pretokenized_tags(tagger_run):
    return _tag(tagger_run / "run", "--pretokenized")


def test_tag_pretokenized_keeps_tokens_as_given(pretokenized_tags):
    given = pretokenized_tags
    assert [row[0] for row in given[0]] == SENTENCE.split() and [row[0] for row in given[1]] == ["two", "tokens"]
    assert all(len(row) == 3 and 0 < float(row[2]) <= 1 for block in given for row in block)


@pytest.mark.slow  # one more console-script run
def test_tag_without_pretokenized_splits_at_punctuation(tagger_run):
    split = _tag(tagger_run / "run")  # the serving rule: every punctuation character is a word of its own
    assert [row[0] for row in split[0]] == ["The", "U", ".", "S", ".", "team", "don", "'", "t", "lose"]


@pytest.mark.slow  # one more console-script run
def test_predict_pretokenized_text_file_is_written_as_conll_with_the_tag_commands_tags(tagger_run,
                                                                                       pretokenized_tags):
    source = tagger_run / "sentences.txt"
    source.write_text(f"{SENTENCE}\n\n  two\ttokens  \n", encoding="utf-8")
    output = tagger_run / "tagged.tsv"
    completed = run_cli("predict", tagger_run / "run", "--input", source, "--output", output, "--pretokenized")
    assert completed.returncode == 0, completed.stderr[-3000:]
    # token<TAB>tag lines and a blank line after each input line (the empty line gives just a blank line)
    expected = ["\t".join(row[:2]) for row in pretokenized_tags[0]] + ["", ""] + \
        ["\t".join(row[:2]) for row in pretokenized_tags[1]] + [""]
    assert output.read_text(encoding="utf-8").split("\n")[:-1] == expected


@pytest.mark.slow  # one more console-script run
def test_predict_pretokenized_table_splits_texts_at_whitespace_only(tagger_run):
    source = tagger_run / "texts.jsonl"
    source.write_text(json.dumps({"text": SENTENCE}) + "\n", encoding="utf-8")
    output = tagger_run / "texts_out.jsonl"
    completed = run_cli("predict", tagger_run / "run", "--input", source, "--output", output, "--pretokenized")
    assert completed.returncode == 0, completed.stderr[-3000:]
    row = json.loads(output.read_text(encoding="utf-8"))
    assert row["tokens"] == SENTENCE.split() and len(row["predicted_tags"]) == len(row["tag_scores"]) == 5


@pytest.mark.slow  # two more console-script runs
def test_evaluate_pretokenized_scores_gold_tokens_as_given(tagger_run):
    test = tagger_run / "test.tsv"
    test.write_text("The\tDET\nU.S.\tPROPN\nteam\tNOUN\ndo\tAUX\nn't\tPART\nlose\tVERB\n", encoding="utf-8")
    outputs = []
    for options in ([], ["--pretokenized"]):
        out_dir = tagger_run / f"eval{len(options)}"
        completed = run_cli("evaluate", tagger_run / "run", "--test", test, "--output-dir", out_dir, *options)
        assert completed.returncode == 0, completed.stderr[-3000:]
        outputs.append(json.loads((out_dir / "metrics.json").read_text()))
    assert outputs[0]["counts"]["words"] == outputs[1]["counts"]["words"] == 6  # "U.S." and "n't" are one word each
    assert outputs[0]["accuracy"] == outputs[1]["accuracy"]


@pytest.mark.parametrize("name, content, fragment", [
    ("sentences.txt", "The U.S. team don't lose .\nA second sentence here\n", "line 1 has no TAB"),
    pytest.param("table.tsv", "text\tlabel\ngreat movie\tpos\n", "line 2 has a token with whitespace",
                 marks=pytest.mark.slow),
    pytest.param("rows.csv", "text,label\nhello,pos\n", "line 1 has no TAB", marks=pytest.mark.slow),
])
def test_evaluate_pretokenized_refuses_a_file_that_is_not_conll(tagger_run, name, content, fragment):
    path = tagger_run / name
    path.write_text(content, encoding="utf-8")
    completed = run_cli("evaluate", tagger_run / "run", "--test", path, "--pretokenized")
    assert_one_line_error(completed, "--pretokenized", "is not a CoNLL file", fragment)
