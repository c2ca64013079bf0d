"""The PyTorch-style training script: TSV files in, best model, tokenizers, metrics and a SavedModel out."""

import json

import pytest
import tensorflow as tf

from tests.examples import load_example

PAIRS = [("I like tea.", "Me gusta el té."), ("I like coffee.", "Me gusta el café."),
         ("You like tea.", "Te gusta el té."), ("We like milk.", "Nos gusta la leche."),
         ("Tom is here.", "Tom está aquí."), ("Tom is tall.", "Tom es alto.")]


@pytest.fixture
def tsv_files(tmp_path):
    train, val = tmp_path / "train.tsv", tmp_path / "val.tsv"
    train.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS * 20), encoding="utf-8")
    val.write_text("".join(f"{s}\t{t}\tattribution\n" for s, t in PAIRS[:3]), encoding="utf-8")
    return train, val


def _run(tsv_files, out, *extra):
    script = load_example("translation_train_script")
    train, val = tsv_files
    return script.main(["--train_data", str(train), "--val_data", str(val), "--output_dir", str(out),
                        "--epochs", "2", "--batch_size", "32", "--num_beams", "2", "--verbose", "0", *extra])


@pytest.mark.slow  # default-suite budget (2026-11-30): the other translator examples run by default
def test_quick_two_epochs_write_model_tokenizers_and_metrics(tsv_files, tmp_path, capsys):
    out = tmp_path / "out"
    metrics = _run(tsv_files, out, "--quick")

    epochs = metrics["epochs"]
    assert len(epochs["loss"]) == len(epochs["val_loss"]) == len(epochs["val_bleu"]) == 2
    assert metrics["best_epoch"] in (1, 2) and 0.0 <= metrics["final"]["bleu"] <= 100.0
    assert [e["source"] for e in metrics["examples"]] == [s for s, _ in PAIRS[:3]]
    for name in ("model.keras", "source_tokenizer", "target_tokenizer", "logs", "metrics.json"):
        assert (out / name).exists()
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8"))["final"] == metrics["final"]
    assert "best epoch" in capsys.readouterr().out


@pytest.mark.slow
def test_graph_mode_run_and_export_serve_the_same_translation(tsv_files, tmp_path):
    metrics = _run(tsv_files, tmp_path / "out", "--d_model", "16", "--ffn_dim", "32", "--num_layers", "1",
                   "--num_heads", "2", "--max_length", "12", "--warmup_steps", "2", "--export")
    served = tf.saved_model.load(metrics["saved_model"]).signatures["serving_default"]
    served_text = served(texts=tf.constant([PAIRS[0][0]]))["translations"].numpy()[0].decode("utf-8")
    assert served_text == metrics["examples"][0]["translation"]  # export = in-process, same beams


def test_missing_arguments_are_refused():
    script = load_example("translation_train_script")
    with pytest.raises(SystemExit):
        script.main(["--train_data", "x.tsv"])
