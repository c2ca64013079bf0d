"""`keras-llm train translator` / `translate` / `export` through keras_llm.cli.main; bad input exits 2 in one line."""

import json
import os

import pytest

from keras_llm.cli import main

PAIRS = ["I am cold .\tTengo frío .\tx", "I am hot .\tTengo calor .\tx", "we are cold .\tTenemos frío .\tx",
         "we are hot .\tTenemos calor .\tx", "she is cold .\tElla tiene frío .\tx"] * 6


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_translator")
    pairs = root / "pairs.tsv"
    # Columns swapped on purpose (Spanish<TAB>English): --source-column 1 makes English the source.
    pairs.write_text("\n".join("\t".join([row.split("\t")[1], row.split("\t")[0]]) for row in PAIRS),
                     encoding="utf-8")
    run_dir = root / "run"
    code = main(["train", "translator", "--pairs", str(pairs), "--run-dir", str(run_dir), "--steps", "8",
                 "--eval-interval", "8", "--eval-batches", "1", "--batch-size", "8", "--num-layers", "1",
                 "--hidden-dim", "16", "--max-length", "8", "--source-column", "1", "--target-column", "0",
                 "--no-jit"])
    assert code == 0
    return root, run_dir


def test_train_writes_a_run_and_translate_prints_one_line_per_text(trained, capsys):
    _, run_dir = trained
    info = json.loads((run_dir / "run.json").read_text())
    assert info["model"] == "transformer-seq2seq" and info["recipe"] == "translator"
    assert (info["source_column"], info["target_column"]) == (1, 0)
    assert info["model_config"]["max_source_length"] == 8 and info["training"]["steps"] == 8
    assert "cold" in (run_dir / "source_tokenizer" / "vocab.txt").read_text().split()
    assert "cold" not in (run_dir / "target_tokenizer" / "vocab.txt").read_text().split()
    capsys.readouterr()
    assert main(["translate", str(run_dir), "--text", "I am cold.", "--text", "we are hot .",
                 "--num-beams", "2", "--max-new-tokens", "5"]) == 0
    lines = capsys.readouterr().out.strip("\n").split("\n")
    assert len(lines) == 2


def _one_line_error(capsys, argv):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-llm: error:") and "\n" not in err, err
    return err


def test_bad_inputs_exit_2_with_one_line(trained, capsys, tmp_path):
    root, run_dir = trained
    assert "--pairs" in _one_line_error(capsys, ["train", "translator", "--run-dir", str(tmp_path / "r")])
    bad = tmp_path / "bad.tsv"
    bad.write_text("Go.\tVe.\nno tab here\n", encoding="utf-8")
    assert "line 2" in _one_line_error(capsys, ["train", "translator", "--pairs", str(bad),
                                                "--run-dir", str(tmp_path / "r2")])
    assert "not found" in _one_line_error(capsys, ["train", "translator", "--pairs", str(tmp_path / "none.tsv")])
    assert "run directory" in _one_line_error(capsys, ["translate", str(tmp_path), "--text", "hola"])
    assert "max_new_tokens" in _one_line_error(capsys, ["translate", str(run_dir), "--text", "hola",
                                                        "--max-new-tokens", "50"])
    assert "--steps" in _one_line_error(capsys, ["train", "translator", "--pairs", str(bad), "--epochs", "2"])
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "translator", "--pairs", str(bad), "--source-column", "-1"])
    assert exit_info.value.code == 2


@pytest.mark.slow  # a SavedModel export takes seconds; tests/export covers the exporter itself
def test_export_writes_a_saved_model_or_says_not_yet(trained, capsys, tmp_path):
    _, run_dir = trained
    capsys.readouterr()
    code = main(["export", str(run_dir), "--base-dir", str(tmp_path), "--name", "tiny"])
    if code == 2:  # the exporter (keras_llm/export/translator.py) is not there yet
        assert "not yet" in capsys.readouterr().err
    else:
        assert code == 0 and os.path.isdir(tmp_path / "tiny" / "1")
