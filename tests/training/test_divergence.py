"""A diverging run stops with one clear line and never overwrites the last good checkpoint."""

import os

import keras
import numpy as np
import pytest

from keras_llm.cli import main


@pytest.mark.slow  # a library-level or duplicate check; the console-script tests cover the default run
def test_absurd_learning_rate_stops_cleanly(tiny_corpus, tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = ["train", "gpt-shakespeare-char", "--corpus", str(tiny_corpus), "--run-dir", str(run_dir),
            "--steps", "200", "--eval-interval", "20", "--eval-batches", "2", "--batch-size", "8",
            "--max-length", "32", "--num-layers", "1", "--hidden-dim", "32", "--learning-rate", "30", "--no-jit"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-llm: error: training diverged at step") and "\n" not in err
    assert not os.path.exists(run_dir / "final.keras")
    if os.path.exists(run_dir / "best.keras"):  # whatever was kept is finite
        model = keras.models.load_model(run_dir / "best.keras", compile=False)
        assert all(np.isfinite(w).all() for w in model.get_weights())
