"""`keras-llm evaluate` / `predict` on a translator run, through the console script; bad input exits 2 in one line."""

import concurrent.futures
import csv
import json
import subprocess
import sys

import pytest

from tests.conftest import assert_one_line_error, run_cli

PAIRS = [("I am cold .", "Tengo frío ."), ("I am hot .", "Tengo calor ."), ("we are cold .", "Tenemos frío ."),
         ("we are hot .", "Tenemos calor ."), ("she is cold .", "Ella tiene frío .")]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One tiny translator (English in column 1, Spanish in column 0, as --source-column 1 trains it)."""
    from keras_llm.runs.translator import train_translator_run

    root = tmp_path_factory.mktemp("translator_eval")
    pairs = root / "pairs.tsv"
    pairs.write_text("\n".join(f"{spanish}\t{english}" for english, spanish in PAIRS * 6) + "\n", encoding="utf-8")
    run_dir, _ = train_translator_run(
        "translator", run_dir=str(root / "run"), pairs_file=str(pairs), source_column=1, target_column=0,
        training_overrides=dict(steps=60, eval_interval=60, eval_batches=1, batch_size=8, warmup_steps=5,
                                learning_rate=5e-3, eval_pairs=2, jit_compile=False),
        model_overrides=dict(num_encoder_layers=1, num_decoder_layers=1, num_heads=2, hidden_dim=16,
                             intermediate_dim=32, max_source_length=8, max_target_length=8, dropout=0.0),
        verbose=0, log=lambda message: None)
    return run_dir


def _translator(run_dir):
    from keras_llm.runs.translator import load_translator_run

    model, source_tokenizer, target_tokenizer, _ = load_translator_run(run_dir)
    return model, source_tokenizer, target_tokenizer


# Default-suite budget (2026-11-30): tests/cli/test_seq2seq_cli.py recomputes evaluate's BLEU/ROUGE by default
@pytest.mark.slow
def test_evaluate_prints_sacrebleu_scores_and_signatures_of_greedy_translations(run_dir, tmp_path):
    from sacrebleu.metrics import BLEU, CHRF

    from keras_llm.generation import DecodingOptions
    from keras_llm.generation.seq2seq_search import translate

    test_file = tmp_path / "test.tsv"
    test_file.write_text("".join(f"{spanish}\t{english}\n" for english, spanish in PAIRS), encoding="utf-8")
    done = run_cli("evaluate", run_dir, "--test", test_file, "--batch-size", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    report_dir = f"{run_dir}/evaluation/test"
    metrics = json.loads(open(f"{report_dir}/metrics.json", encoding="utf-8").read())
    rows = list(csv.reader(open(f"{report_dir}/translations.tsv", encoding="utf-8"), delimiter="\t"))
    assert rows[0] == ["source", "reference", "translation"] and len(rows) == 6
    sources, references = [english for english, _ in PAIRS], [spanish for _, spanish in PAIRS]
    assert [row[:2] for row in rows[1:]] == [list(pair) for pair in zip(sources, references)]
    hypotheses = translate(*_translator(run_dir), sources, DecodingOptions(max_new_tokens=None))  # greedy
    assert [row[2] for row in rows[1:]] == hypotheses
    # The run's target tokenizer lowercases, so the scores are case-insensitive (case:lc).
    bleu, chrf = BLEU(tokenize="13a", lowercase=True), CHRF(lowercase=True)
    assert metrics["bleu"] == pytest.approx(bleu.corpus_score(hypotheses, [references]).score)
    assert metrics["chrf"] == pytest.approx(chrf.corpus_score(hypotheses, [references]).score)
    assert metrics["chrf"] > 20  # it learned something of five memorised pairs
    assert f"BLEU  {metrics['bleu']:.2f}   nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0" in done.stdout
    assert "chrF" in done.stdout and "translating: 5/5 pairs (100%)" in done.stdout and done.stderr == ""
    assert metrics["decoding"]["num_beams"] == 1 and metrics["counts"] == {"pairs": 5, "sources_truncated": 0}


@pytest.mark.slow  # kept out of the default run for time; `make test-all` runs it
def test_predict_appends_translations_to_a_pairs_file_like_translate(run_dir, tmp_path):
    from keras_llm.generation.seq2seq_search import translate
    from keras_llm.runs.translator import decoding_options, load_translator_run

    lines = [f"x{i}\t{english}" for i, (english, _) in enumerate(PAIRS)] + ["y\tthey are cold and hot today ."]
    source_file = tmp_path / "sources.tsv"
    source_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run_cli("predict", run_dir, "--input", source_file, "--output", tmp_path / "out.tsv", "--batch-size", "4")
    assert done.returncode == 0, done.stderr[-2000:]
    written = (tmp_path / "out.tsv").read_text(encoding="utf-8").split("\n")[:-1]
    model, source_tokenizer, target_tokenizer, info = load_translator_run(run_dir)
    options = decoding_options(info["decode"])  # the recipe's 4 beams, as `translate` and the export use
    expected = translate(model, source_tokenizer, target_tokenizer, [line.split("\t")[1] for line in lines], options)
    assert written == [f"{line}\t{translation}" for line, translation in zip(lines, expected)]
    assert "6 translations (4 beams)" in done.stdout


def test_bad_input_is_one_line_and_exit_2(run_dir, tmp_path):
    commas = tmp_path / "pairs.csv"
    commas.write_text("english,spanish\nI am cold .,Tengo frío .\nI am hot .,Tengo calor .\n", encoding="utf-8")
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes("Tengo frío .\tI am cold .\n".encode("latin-1"))
    cases = [
        (("evaluate", run_dir, "--test", commas), ["line 1: no tab", "source<TAB>target"]),
        (("evaluate", run_dir, "--test", latin1), ["not valid UTF-8 (line 1"]),
        (("predict", run_dir, "--input", commas, "--output", tmp_path / "o.csv"), ["no 'source' column",
                                                                                   "'english', 'spanish'"]),
    ]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda case: run_cli(*case[0]), cases))
    for (_, fragments), done in zip(cases, results):
        assert_one_line_error(done, *fragments)


def test_an_option_of_another_task_is_refused_in_one_line(run_dir, tmp_path, capsys):
    from keras_llm.cli import main

    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--test", str(tmp_path / "t.tsv"), "--stride", "4"]) == 2
    err = capsys.readouterr().err
    assert err == "keras-llm: error: --stride is not used when a transformer-seq2seq run is given to " \
                  "`keras-llm evaluate`\n"


@pytest.mark.slow  # an export and a fresh process: ~30 s
def test_predict_equals_the_exported_saved_model(run_dir, tmp_path):
    sources = [english for english, _ in PAIRS] + ["they are cold and hot today .", ""]
    source_file = tmp_path / "sources.txt"
    source_file.write_text("\n".join(sources) + "\n", encoding="utf-8")
    done = run_cli("predict", run_dir, "--input", source_file, "--output", tmp_path / "out.txt", "--batch-size", "3")
    assert done.returncode == 0, done.stderr[-2000:]
    exported = run_cli("export", run_dir, "--base-dir", tmp_path / "models", "--name", "tiny")
    assert exported.returncode == 0, exported.stderr[-2000:]
    script = ("import json, sys, tensorflow as tf, tensorflow_text\n"
              "model = tf.saved_model.load(sys.argv[1])\n"
              "out = model.signatures['serving_default'](texts=tf.constant(json.loads(sys.argv[2])))['translations']\n"
              "print(json.dumps([text.decode('utf-8') for text in out.numpy()]))\n")
    saved_model = str(tmp_path / "models" / "tiny" / "1")
    served = subprocess.run([sys.executable, "-c", script, saved_model, json.dumps(sources)],
                            capture_output=True, text=True, timeout=300)
    assert served.returncode == 0, served.stderr[-2000:]
    expected = json.loads(served.stdout.strip().split("\n")[-1])
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").split("\n")[:-1] == expected
